import { Data } from "@lenra/app";

/** A counter owned by one user id, or by `"global"` for the counter everyone shares. */
export class Counter extends Data {
  user: string;
  count: number;

  // @lenra/app builds instances with no arguments and then copies only the fields the instance
  // already owns, so every field needs a default.
  constructor(user = "", count = 0) {
    super();
    this.user = user;
    this.count = count;
  }
}
