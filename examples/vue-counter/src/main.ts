import { createLenra } from "@lenra/vue";
import { createApp } from "vue";
import App from "./App.vue";
import { lenra } from "./lenra.ts";
import "./style.css";

createApp(App).use(createLenra(lenra)).mount("#app");
