import { defineConfig } from 'vitest/config';

// Dawn (npm `webgpu`) reads the Vulkan driver from the environment of the process that loads it: set it
// here, in the main process, so that every forked test worker inherits it. SwiftShader is the CPU Vulkan
// driver installed with Chromium by scripts/setup.sh.
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
process.env.XDG_RUNTIME_DIR ??= '/tmp';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 420_000, // a hang guard, not a timing: a loaded 2-core machine runs the slowest GPU tests for minutes
    hookTimeout: 180_000,
    // Two cores: SwiftShader already uses both for one kernel; more files at once only thrash.
    maxWorkers: 2,
  },
});
