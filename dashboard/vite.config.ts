import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = { target: 'http://localhost:8000', changeOrigin: false };

/** The dashboard's build: `npm run build:dashboard` writes dashboard/dist, which the server serves at `/`. */
export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      output: {
        // One long-lived vendor chunk for the framework, so page chunks stay small and cache well.
        manualChunks(id) {
          if (/node_modules\/(react|react-dom|scheduler|react-router|@tanstack)\//.test(id)) return 'react';
          if (id.includes('node_modules/@mantine/') || id.includes('node_modules/@floating-ui/')) return 'mantine';
          return undefined;
        },
      },
    },
  },
  server: { port: 5173, proxy: { '/api': api, '/docs': api, '/v1': api, '/health': api } },
});
