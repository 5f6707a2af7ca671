/** Drover's version, reported by masters and agents. Bumped with releases. */
export const DROVER_VERSION = '0.1.0';
