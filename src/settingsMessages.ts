// The messages between the settings webview and the extension host. The webview is untrusted
// input: every message is parsed and every value checked (type and range, with config.ts's
// table) before anything is written to the user's settings. Pure: no `vscode` import.

import type { ServerStatus } from '../server/protocol';
import { checkSetting, type ExtensionConfig, type SettingKey } from './config';

/** webview -> host */
export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'update'; key: SettingKey; value: unknown }
  | { type: 'browseModel' }
  | { type: 'showOutput' };

/** host -> webview */
export type HostMessage =
  | { type: 'config'; config: ExtensionConfig; defaults: ExtensionConfig; languages: string[] }
  | { type: 'status'; status: ServerStatus | null; lastDecision: { level: number; reasons: string[] } | null }
  | { type: 'error'; message: string };

export type Parsed = { ok: true; message: WebviewMessage } | { ok: false; error: string };

export function parseWebviewMessage(raw: unknown): Parsed {
  if (typeof raw !== 'object' || raw === null) return { ok: false, error: 'message is not an object' };
  const msg = raw as Record<string, unknown>;
  switch (msg.type) {
    case 'ready':
    case 'browseModel':
    case 'showOutput':
      return { ok: true, message: { type: msg.type } };
    case 'update': {
      if (typeof msg.key !== 'string') return { ok: false, error: 'update without a setting key' };
      const checked = checkSetting(msg.key, msg.value);
      if (!checked.ok) return { ok: false, error: checked.error };
      return { ok: true, message: { type: 'update', key: msg.key as SettingKey, value: checked.value } };
    }
    default:
      return { ok: false, error: `unknown message type ${JSON.stringify(msg.type)}` };
  }
}
