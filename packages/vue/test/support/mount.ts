import { mount, type VueWrapper } from "@vue/test-utils";
import { type Component, defineComponent } from "vue";
import { createLenra, type LenraClient } from "../../src/index.ts";

/** Mounts `component` in an app with the Lenra plugin for `client`. */
export function mountWith(
  client: LenraClient,
  component: Component,
  props: Record<string, unknown> = {},
): VueWrapper {
  return mount(component, { props, global: { plugins: [createLenra(client)] } });
}

/** Runs `use` in the setup() of a mounted component and returns what it returned. */
export function withSetup<R>(
  client: LenraClient,
  use: () => R,
): { result: R; wrapper: VueWrapper } {
  let result: R | undefined;
  const wrapper = mountWith(
    client,
    defineComponent({
      setup() {
        result = use();
        return () => null;
      },
    }),
  );
  return { result: result as R, wrapper };
}
