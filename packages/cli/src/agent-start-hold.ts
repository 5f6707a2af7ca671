/**
 * Imported first by bin.ts, for its side effect: `drover agent` holds its
 * young generation before the CLI's modules load (see young-generation.ts).
 */
import { holdAtStartIfAgent } from './young-generation.js';

holdAtStartIfAgent(process.argv.slice(2));
