// The lab's version, written into every result row, export and report so a reader knows what produced them.
// package.json's version is the same string (tests/architecture.test.ts checks).
export const LAB_VERSION = '0.1.0';
