#!/usr/bin/env node
// Removes dist/ before a package build (`prepack`), so that no file of a deleted source ships.
import { rmSync } from 'node:fs';
rmSync('dist', { recursive: true, force: true });
