#!/usr/bin/env node
// Shim: the compiled CLI lives in dist/ (`npm run build`).
import '../dist/bin/imatch.js';
