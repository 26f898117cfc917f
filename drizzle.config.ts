import { defineConfig } from 'drizzle-kit';

// One migration folder for both targets (embedded PGlite and PostgreSQL). Tables live beside their module
// in `*.tables.ts`. After changing a table: `npm run db:generate`, review the SQL, commit it.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/platform/*.tables.ts', './src/modules/*/*.tables.ts'],
  out: './migrations',
  casing: 'snake_case',
});
