/** The reader of each source format, for the importer (re-exported from the readers' registry). */
export { TEXT_FORMATS, readerFor, readerForSource, validateSourceMapping } from './readers/index.js';
