/** The reader of each source format, for the importer (re-exported from the readers' registry). */
export { readerFor, readerForSource, validateSourceMapping } from './readers/index.js';
