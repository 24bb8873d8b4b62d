import { Data } from "@lenra/app";

/** One item of a user's todo list. */
export class Todo extends Data {
  user: string;
  title: string;
  done: boolean;

  // @lenra/app builds instances with no arguments and then copies only the fields the instance
  // already owns, so every field needs a default.
  constructor(user = "", title = "", done = false) {
    super();
    this.user = user;
    this.title = title;
    this.done = done;
  }
}
