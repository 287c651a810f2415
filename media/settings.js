// Settings panel script. It shows the settings the host sends and proposes changes; the host
// checks every message before writing settings, and sends the configuration back after each
// change, so what is shown is always what settings.json holds. No inline handlers, no remote
// resources, DOM built with textContent only (the page runs under a strict CSP).
// @ts-check
(function () {
  'use strict';
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const LEVELS = [0, 1, 2, 3, 4];
  const LEVEL_COLORS = ['--vscode-charts-green', '--vscode-charts-blue', '--vscode-charts-yellow', '--vscode-charts-orange', '--vscode-charts-red'];
  const LANGUAGE_ID = /^[A-Za-z0-9_.+#-]{1,64}$/;

  /** @type {any} the last configuration from the host */
  let config = null;
  /** @type {any} the last server status from the host */
  let status = null;
  let messageTimer = 0;

  /** @param {string} id @returns {any} */
  const $ = (id) => document.getElementById(id);

  /** @param {string} key @param {unknown} value */
  function update(key, value) {
    vscode.postMessage({ type: 'update', key, value });
  }

  /** @param {string} text */
  function showMessage(text) {
    const el = $('message');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { el.hidden = true; }, 8000);
  }

  /**
   * Reads a number input; on a bad value says why and restores the setting's value.
   * @param {HTMLInputElement} input @param {boolean} integer @param {() => void} restore
   * @returns {number | undefined}
   */
  function readNumber(input, integer, restore) {
    const value = Number(input.value);
    const min = Number(input.min), max = Number(input.max);
    if (input.value.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      showMessage(`${input.id}: enter ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
      restore();
      return undefined;
    }
    return value;
  }

  // --- host -> panel -------------------------------------------------------------------------

  let forceValues = false;

  /** Sets an input's value unless the user is editing it right now. @param {HTMLInputElement} el @param {string} value */
  function setValue(el, value) {
    if (forceValues || document.activeElement !== el) el.value = value;
  }

  /** Puts every field back to the settings' values, the focused one included (after a bad entry). */
  function restoreConfig() {
    forceValues = true;
    try { renderConfig(); } finally { forceValues = false; }
  }

  function renderConfig() {
    if (!config) return;
    $('enabled').checked = config.enabled;
    setValue($('baseLevel'), String(config.baseLevel));
    $('baseLevelValue').textContent = `L${config.baseLevel} · ${config.stepsPerLevel[config.baseLevel]} iterations`;
    LEVELS.forEach((level) => setValue($(`steps${level}`), String(config.stepsPerLevel[level])));
    setValue($('exitThreshold'), String(config.exitThreshold));
    setValue($('maxTokens'), String(config.maxTokens));
    setValue($('timeCapMs'), String(config.timeCapMs));
    setValue($('debounce'), String(config.debounceMs));
    setValue($('modelPath'), config.modelPath);
    $('device').value = config.device;
    $('modelFormat').value = config.modelFormat;
    setValue($('prefixChars'), String(config.prefixChars));
    setValue($('suffixChars'), String(config.suffixChars));
    setValue($('beamWidth'), String(config.beamWidth));
    setValue($('minConfidence'), String(config.minConfidence));
    $('minConfidenceValue').textContent = confidenceLabel(config.minConfidence);
    $('computeMapEnabled').checked = config.computeMapEnabled;
    renderLanguages();
  }

  function renderLanguages() {
    const body = $('languageRows');
    body.replaceChildren();
    const entries = Object.entries(config.languageLevels).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) {
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 3;
      cell.className = 'hint';
      cell.textContent = 'No per-language levels.';
    }
    for (const [language, level] of entries) {
      const row = body.insertRow();
      row.dataset.language = language;
      row.insertCell().textContent = language;
      const select = document.createElement('select');
      select.className = 'languageLevel';
      select.id = `languageLevel-${language}`;
      select.dataset.language = language;
      for (const l of LEVELS) {
        const option = document.createElement('option');
        option.value = String(l);
        option.textContent = String(l);
        select.append(option);
      }
      select.value = String(level);
      row.insertCell().append(select);
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'removeLanguage secondary';
      remove.id = `removeLanguage-${language}`;
      remove.dataset.language = language;
      remove.textContent = 'Remove';
      row.insertCell().append(remove);
    }
  }

  /** "0.50", or "off" at 0. @param {number} value */
  function confidenceLabel(value) {
    return value > 0 ? value.toFixed(2) : 'off';
  }

  /** @param {number | undefined} v @param {string} unit @param {number} digits */
  const figure = (v, unit, digits) => (v === undefined || v === null ? '–' : `${v.toFixed(digits)}${unit}`);

  function renderStatus(lastDecision) {
    const s = status;
    $('serverState').textContent = s ? s.state : 'not connected';
    const device = s && s.device ? `${s.device}${s.adapter ? ` (${s.adapter})` : ''}` : '–';
    $('serverDevice').textContent = s && s.deviceReason ? `${device}: ${s.deviceReason}` : device;
    $('serverModel').textContent = s && s.model ? `${s.model}${s.dtype ? ` (${s.dtype})` : ''}` : '–';
    $('lastLatency').textContent = figure(s && s.lastLatencyMs, ' ms', 0);
    $('tokensPerSecond').textContent = figure(s && s.tokensPerSecond, '', 1);
    $('meanIterations').textContent = figure(s && s.meanIterations, '', 1);
    const c = s && s.counters;
    $('counters').textContent = c
      ? `${c.requests} (${c.computed} computed, ${c.cacheHits} cached, ${c.cancelled} cancelled, ${c.errors} errors)`
      : '–';
    const message = $('serverMessage');
    message.hidden = !(s && s.message);
    message.textContent = (s && s.message) || '';
    const recent = (s && s.recent) || [];
    drawBars($('latencyChart'), recent.map((r) => ({ value: r.latencyMs, level: r.level })), 'ms');
    drawBars($('iterationsChart'), recent.map((r) => ({ value: r.meanIterations, level: r.level })), 'it');
    if (lastDecision !== undefined) {
      const list = $('lastDecision');
      list.replaceChildren();
      const reasons = lastDecision ? lastDecision.reasons : ['No completion yet.'];
      for (const reason of reasons) {
        const li = document.createElement('li');
        li.textContent = reason;
        list.append(li);
      }
    }
  }

  /** @param {string} name @param {string} fallback */
  function cssColor(name, fallback) {
    return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
  }

  /**
   * One bar per recent completion, coloured by its depth level, scaled to the largest value.
   * @param {HTMLCanvasElement} canvas @param {{ value: number, level: number }[]} bars @param {string} unit
   */
  function drawBars(canvas, bars, unit) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600, height = canvas.clientHeight || 120;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const fg = cssColor('--vscode-foreground', '#ccc');
    ctx.fillStyle = fg;
    ctx.font = `11px ${cssColor('--vscode-font-family', 'sans-serif')}`;
    if (bars.length === 0) {
      ctx.fillText('No completions yet.', 8, height / 2);
      return;
    }
    const max = Math.max(...bars.map((b) => b.value), 1e-9);
    const top = 14, left = 4, plot = height - top - 2;
    const step = (width - left) / bars.length;
    bars.forEach((b, i) => {
      const h = Math.max(1, (b.value / max) * plot);
      ctx.fillStyle = cssColor(LEVEL_COLORS[Math.min(4, Math.max(0, Math.round(b.level)))], '#3794ff');
      ctx.fillRect(left + i * step, top + plot - h, Math.max(1, step - 1), h);
    });
    ctx.fillStyle = fg;
    ctx.fillText(`max ${max < 10 ? max.toFixed(1) : Math.round(max)} ${unit}`, left, 11);
    // Legend: the colour of each depth level, right-aligned on the top line.
    let x = width - 4;
    for (let level = LEVELS.length - 1; level >= 0; level--) {
      const label = `L${level}`;
      x -= ctx.measureText(label).width;
      ctx.fillStyle = fg;
      ctx.fillText(label, x, 11);
      x -= 11;
      ctx.fillStyle = cssColor(LEVEL_COLORS[level], '#3794ff');
      ctx.fillRect(x, 3, 8, 8);
      x -= 8;
    }
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || typeof message !== 'object') return;
    if (message.type === 'config') {
      config = message.config;
      const list = $('languageIds');
      list.replaceChildren(...message.languages.map((/** @type {string} */ id) => {
        const option = document.createElement('option');
        option.value = id;
        return option;
      }));
      renderConfig();
    } else if (message.type === 'status') {
      status = message.status;
      renderStatus(message.lastDecision);
    } else if (message.type === 'error') {
      showMessage(message.message);
    }
  });

  // --- panel -> host -------------------------------------------------------------------------

  /** Wires a number input to a setting. @param {string} id @param {string} key @param {boolean} integer */
  function numberSetting(id, key, integer) {
    const input = $(id);
    input.addEventListener('change', () => {
      const value = readNumber(input, integer, restoreConfig);
      if (value !== undefined) update(key, value);
    });
  }

  $('enabled').addEventListener('change', () => update('enabled', $('enabled').checked));
  $('computeMapEnabled').addEventListener('change', () => update('computeMap.enabled', $('computeMapEnabled').checked));
  $('baseLevel').addEventListener('input', () => {
    const level = Number($('baseLevel').value);
    $('baseLevelValue').textContent = config ? `L${level} · ${config.stepsPerLevel[level]} iterations` : `L${level}`;
  });
  $('baseLevel').addEventListener('change', () => update('baseLevel', Number($('baseLevel').value)));
  LEVELS.forEach((level) => {
    const input = $(`steps${level}`);
    input.addEventListener('change', () => {
      if (!config) return;
      const value = readNumber(input, true, restoreConfig);
      if (value === undefined) return;
      const steps = config.stepsPerLevel.slice();
      steps[level] = value;
      update('stepsPerLevel', steps);
    });
  });
  numberSetting('exitThreshold', 'exitThreshold', false);
  numberSetting('maxTokens', 'maxTokens', true);
  numberSetting('timeCapMs', 'timeCapMs', true);
  numberSetting('debounce', 'debounceMs', true);
  numberSetting('prefixChars', 'prefixChars', true);
  numberSetting('suffixChars', 'suffixChars', true);
  numberSetting('beamWidth', 'beamWidth', true);
  $('minConfidence').addEventListener('input', () => {
    $('minConfidenceValue').textContent = confidenceLabel(Number($('minConfidence').value));
  });
  numberSetting('minConfidence', 'minConfidence', false);
  $('modelPath').addEventListener('change', () => update('modelPath', $('modelPath').value.trim()));
  $('browseModel').addEventListener('click', () => vscode.postMessage({ type: 'browseModel' }));
  $('defaultModel').addEventListener('click', () => update('modelPath', ''));
  $('device').addEventListener('change', () => update('device', $('device').value));
  $('modelFormat').addEventListener('change', () => update('modelFormat', $('modelFormat').value));
  $('showOutput').addEventListener('click', () => vscode.postMessage({ type: 'showOutput' }));

  /** @param {(levels: Record<string, number>) => void} change */
  function changeLanguages(change) {
    if (!config) return;
    const levels = Object.assign({}, config.languageLevels);
    change(levels);
    update('languageLevels', levels);
  }

  $('addLanguage').addEventListener('click', () => {
    const language = $('newLanguage').value.trim();
    if (!LANGUAGE_ID.test(language)) {
      showMessage('Enter a language id such as python or latex.');
      return;
    }
    changeLanguages((levels) => { levels[language] = Number($('newLanguageLevel').value); });
    $('newLanguage').value = '';
  });
  // One listener for all rows (rows are rebuilt on every configuration change).
  $('languageRows').addEventListener('change', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (!target.classList.contains('languageLevel')) return;
    const language = target.dataset.language;
    const level = Number(/** @type {HTMLSelectElement} */ (target).value);
    if (language) changeLanguages((levels) => { levels[language] = level; });
  });
  $('languageRows').addEventListener('click', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    if (!target.classList.contains('removeLanguage')) return;
    const language = target.dataset.language;
    if (language) changeLanguages((levels) => { delete levels[language]; });
  });

  // Redraw the charts at the new width.
  window.addEventListener('resize', () => renderStatus(undefined));

  vscode.postMessage({ type: 'ready' });
})();
