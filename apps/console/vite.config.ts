import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const apiTarget = process.env.API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  base: '/',
  // The SDK's source, as the type check sees it (tsconfig.json paths), not its build.
  resolve: { alias: [{ find: /^@tsv\/sdk$/, replacement: fileURLToPath(new URL('../../packages/sdk/src/client.ts', import.meta.url)) }] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    proxy: {
      '/v1': { target: apiTarget, changeOrigin: false },
      '/.well-known': { target: apiTarget, changeOrigin: false },
    },
  },
});
