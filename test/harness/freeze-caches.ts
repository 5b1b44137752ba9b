// Mocha setup (.mocharc.json `require`): every cache in this process and in the processes tests
// start freezes what it holds, so code that mutates a shared cached object fails its test
// (shared/cache-mutation-guard.ts). Set before any module reads it.
process.env.CELL_FREEZE_CACHES = '1';
