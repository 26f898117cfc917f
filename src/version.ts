/** Loupe's version: the API's `info.version`, the CLI's `--version`, the start banner. Its own file so that reading
 * it loads nothing else (`loupe --version` must not load the app). */
export const VERSION = '0.1.0';
