#!/usr/bin/env node
// Runs the TypeScript sources directly, so `npx umbra` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
