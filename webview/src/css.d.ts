/** scripts/bundles.mjs loads .css files as text; pages adopt them as constructed style sheets (CSP-safe). */
declare module '*.css' {
  const text: string;
  export default text;
}
