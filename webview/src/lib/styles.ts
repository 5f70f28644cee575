/**
 * Styles of the pages: adopted as constructed style sheets, which the strict CSP (no
 * 'unsafe-inline') allows, unlike <style> elements or style attributes.
 */
import uplotCss from 'uplot/dist/uPlot.min.css';
import pageCss from './page.css';

export function adoptStyles(...extra: string[]): void {
  const sheets = [uplotCss, pageCss, ...extra].map((text) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
    return sheet;
  });
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, ...sheets];
}
