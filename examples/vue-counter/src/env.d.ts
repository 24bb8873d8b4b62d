/// <reference types="vite/client" />

interface ImportMetaEnv {
  readonly VITE_LENRA_APP?: string;
  readonly VITE_LENRA_SOCKET?: string;
  readonly VITE_LENRA_AUTH?: string;
  readonly VITE_LENRA_CLIENT_ID?: string;
}
