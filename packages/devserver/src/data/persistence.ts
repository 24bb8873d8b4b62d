import { readFile } from "node:fs/promises";
import writeFileAtomic from "write-file-atomic";
import {
  assertCollectionName,
  assertDocumentId,
  assertSafeJson,
  type DataDocument,
  isPlainObject,
} from "./documents.ts";
import { DataFileError } from "./errors.ts";

/**
 * The data file's format: every collection's documents in their natural (insertion) order, and
 * the platform's own state beside them (users who already joined) when there is any, and the
 * sections other parts of the dev server own (`auth`: the OAuth server's keys and logins).
 * `{ "collections": { "counter": [ { "_id": "…", "user": "global", "count": 3 } ] } }`
 */
export interface DataFileContent {
  collections: Record<string, DataDocument[]>;
  platform?: Record<string, unknown>;
  auth?: Record<string, unknown>;
}

/** The sections of the data file that other parts of the dev server own (see `SavedSection`). */
export type DataFileSection = "auth";
const SECTIONS: readonly DataFileSection[] = ["auth"];

/** A loaded data file: the app's collections, the platform's state and the owned sections. */
export interface LoadedDataFile {
  collections: Map<string, DataDocument[]>;
  platform: Record<string, unknown>;
  sections: Partial<Record<DataFileSection, Record<string, unknown>>>;
}

/**
 * Reads and checks a data file: the app's collections and the platform's state. A missing file
 * is an empty store; anything else that is not a valid data file throws {@link DataFileError},
 * so a typo never turns into an overwritten file.
 */
export async function loadDataFile(file: string): Promise<LoadedDataFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { collections: new Map(), platform: {}, sections: {} };
    }
    throw new DataFileError(file, `it cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DataFileError(file, `it is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (!isPlainObject(parsed) || !isPlainObject(parsed.collections)) {
    throw new DataFileError(file, 'it is not an object of the form { "collections": { … } }');
  }
  if (parsed.platform !== undefined && !isPlainObject(parsed.platform)) {
    throw new DataFileError(file, '"platform" is not an object');
  }
  const sections: LoadedDataFile["sections"] = {};
  for (const name of SECTIONS) {
    const section = parsed[name];
    if (section === undefined) continue;
    if (!isPlainObject(section)) throw new DataFileError(file, `"${name}" is not an object`);
    try {
      // Its owner checks the shape; no key of it may reach a prototype whatever the owner does.
      assertSafeJson(section, `"${name}" section`);
    } catch (error) {
      throw new DataFileError(file, (error as Error).message.replace(/\.$/, ""), { cause: error });
    }
    sections[name] = section;
  }
  const collections = new Map<string, DataDocument[]>();
  for (const [name, docs] of Object.entries(parsed.collections)) {
    try {
      assertCollectionName(name);
      if (!Array.isArray(docs)) throw new Error("it is not an array of documents");
      const ids = new Set<string>();
      for (const doc of docs) {
        if (!isPlainObject(doc)) throw new Error("it holds something that is not an object");
        assertDocumentId(doc._id);
        assertSafeJson(doc, "document");
        if (ids.has(doc._id)) throw new Error(`the _id "${doc._id}" appears twice`);
        ids.add(doc._id);
      }
      collections.set(name, docs as DataDocument[]);
    } catch (error) {
      throw new DataFileError(
        file,
        `collection "${name}" is invalid: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  return {
    collections,
    platform: (parsed.platform as Record<string, unknown>) ?? {},
    sections,
  };
}

/** Serializes the store's content in the data file format; a section that is `undefined` is left out. */
export function serializeCollections(
  collections: Iterable<[string, Iterable<DataDocument>]>,
  platform: Record<string, unknown> = {},
  sections: Partial<Record<DataFileSection, unknown>> = {},
): string {
  const content: DataFileContent = { collections: {} };
  for (const [name, docs] of collections) content.collections[name] = [...docs];
  if (Object.keys(platform).length > 0) content.platform = platform;
  for (const name of SECTIONS) {
    if (sections[name] !== undefined) content[name] = sections[name] as Record<string, unknown>;
  }
  return `${JSON.stringify(content, null, 2)}\n`;
}

/**
 * Saves at most once per `delayMs` whatever `read()` returns then, one write at a time, so a
 * burst of changes costs one write and the file never lags more than one delay behind.
 */
export class DebouncedSaver {
  readonly #file: string;
  readonly #delayMs: number;
  readonly #read: () => string;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #dirty = false;

  constructor(
    file: string,
    delayMs: number,
    read: () => string,
    onError: (error: unknown) => void,
  ) {
    this.#file = file;
    this.#delayMs = delayMs;
    this.#read = read;
    this.#onError = onError;
  }

  /** Notes a change; the file is written within `delayMs`. */
  schedule(): void {
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch(this.#onError);
    }, this.#delayMs);
  }

  /** Writes now if anything changed since the last write; resolves once the file holds it. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    // A write in progress may have read the state before the latest change: wait, then write again.
    while (this.#writing) await this.#writing.catch(() => {});
    if (!this.#dirty) return;
    this.#dirty = false;
    const text = this.#read();
    // A temporary file in the same directory, flushed, then renamed over: any reader, and the
    // file after a crash, holds the old content or the new one, never a part of one.
    this.#writing = writeFileAtomic(this.#file, text).finally(() => {
      this.#writing = undefined;
    });
    try {
      await this.#writing;
    } catch (error) {
      this.#dirty = true;
      throw error;
    }
  }
}
