// Lets TypeScript accept Vite's CSS imports (Vite bundles them; tsc only checks the UI's code).
declare module '*.css';
