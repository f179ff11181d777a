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
          // Two cores and one Docker Engine: the suites mostly wait (on containers, health checks,
          // drains, watch windows), so three files at a time keep the cores busy without starving any.
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
