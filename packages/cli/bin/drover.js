#!/usr/bin/env node
// The `drover` binary: everything lives in the compiled package (run `pnpm build` first).
import '../dist/bin.js';
