/** Master address used when neither --master nor DROVER_MASTER says otherwise (a module of its own: `--version` loads nothing else). */
export const DEFAULT_MASTER = '127.0.0.1:5053';
