// The settings webview's HTML: media/settings.html with its placeholders filled in and a strict
// Content-Security-Policy. Pure (no `vscode` import) so the CSP is unit-tested against the real
// template.

import { randomBytes } from 'crypto';

export interface HtmlValues {
  /** webview.cspSource: the origin the webview may load our own media from. */
  cspSource: string;
  nonce: string;
  styleUri: string;
  scriptUri: string;
}

/** A fresh nonce per render: only our script tag carries it. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

/** Nothing remote, no inline script or style, no eval; images only from our media or data: URIs. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Fills {{csp}}, {{nonce}}, {{styleUri}} and {{scriptUri}}; throws if the template has others. */
export function renderSettingsHtml(template: string, values: HtmlValues): string {
  const fills: Record<string, string> = {
    csp: contentSecurityPolicy(values.cspSource, values.nonce),
    nonce: values.nonce,
    styleUri: values.styleUri,
    scriptUri: values.scriptUri,
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const fill = fills[name];
    if (fill === undefined) throw new Error(`settings.html: unknown placeholder {{${name}}}`);
    return escapeAttribute(fill);
  });
}
