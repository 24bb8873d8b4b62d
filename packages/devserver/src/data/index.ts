export {
  createDataApiHandler,
  DATA_API_PREFIX,
  type DataApiHandler,
  type DataApiOptions,
  type DataApiTokenInfo,
  type ResolveDataApiToken,
} from "./api.ts";
export type { DataDocument } from "./documents.ts";
export { DataError, type DataErrorBody, DataErrorReason, DataFileError } from "./errors.ts";
export {
  type DataFileContent,
  type LoadedDataFile,
  loadDataFile,
  readDataFile,
  writeFileAtomic,
} from "./persistence.ts";
export {
  decodeObjectIds,
  isParamRef,
  type PlaceholderParams,
  paramRefs,
  readObjectId,
  replaceParams,
} from "./placeholders.ts";
export {
  createDataStore,
  type DataChange,
  type DataContext,
  type DataLogger,
  DataStore,
  type DataStoreOptions,
  type FindOptions,
  type FindRequest,
  type TransactionInfo,
  type UpdateManyResult,
} from "./store.ts";
