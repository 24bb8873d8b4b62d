import { LenraProvider } from "@lenra/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import { lenra } from "./lenra.ts";
import "./style.css";

const element = document.getElementById("app");
if (!element) throw new Error("The page has no #app element.");
createRoot(element).render(
  <StrictMode>
    <LenraProvider client={lenra}>
      <App />
    </LenraProvider>
  </StrictMode>,
);
