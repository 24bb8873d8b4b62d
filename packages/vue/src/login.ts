export * from "@lenra/client/login";
