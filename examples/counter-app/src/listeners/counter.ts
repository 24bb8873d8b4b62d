import type { Api } from "@lenra/app";
import { Counter } from "../classes/Counter.ts";

type Props = Record<string, unknown> | undefined;

export async function increment(props: Props, _event: unknown, api: Api): Promise<void> {
  await add(api, counterId(props), 1);
}

export async function decrement(props: Props, _event: unknown, api: Api): Promise<void> {
  await add(api, counterId(props), -1);
}

async function add(api: Api, id: string, amount: number): Promise<void> {
  // $inc runs in the data store, so two concurrent clicks both count.
  await api.data.coll(Counter).updateMany({ _id: id }, { $inc: { count: amount } });
}

function counterId(props: Props): string {
  const id = props?.id;
  // Without this check a missing id would become an empty filter and touch every counter.
  if (typeof id !== "string" || id === "") throw new Error("This counter does not exist yet");
  return id;
}
