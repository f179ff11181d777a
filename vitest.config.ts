import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic (fast, no host services); `host` talks to the real
// Docker Engine, registry, HAProxy and nginx that scripts/host-setup.sh provides.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          exclude: ['src/**/*.host.test.ts'],
          // Unit tests run first, on their own, then the host suites.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'host',
          include: ['src/**/*.host.test.ts', 'test/**/*.host.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // The host has two cores and one Docker Engine: keep suites from starving each other
          // (three files at a time pushed the load average to 11 and timed out a proxy restart).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
