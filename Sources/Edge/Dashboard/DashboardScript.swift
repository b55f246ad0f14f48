/// The dashboard's script, served at `/_wharf/ui/assets/dashboard.js` (an ES module, no
/// library, no build step): polls the admin API every 5 s with the session cookie and draws the
/// pages, charts as SVG; the Builds page follows one build's log live over Server-Sent Events.
/// It writes data into the page only as text.
enum DashboardScript {
    static let source = #"""
        // Wharf dashboard: fills the page skeletons from the admin API with the session cookie, every
        // 5 s. Data goes into the page only as text (textContent, createTextNode), never as HTML.
        const csrf = document.querySelector('meta[name="wharf-csrf"]')?.content ?? '';
        const page = document.body.dataset.page;
        const isAdmin = document.body.dataset.role === 'admin';
        const POLL_MS = 5000;
        const SVG = 'http://www.w3.org/2000/svg';

        class HTTPError extends Error {
          constructor(path, status, message) { super(`${path}: ${status} ${message}`); this.status = status; }
        }

        async function getJSON(path) {
          const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
          if (response.status === 401) { location.assign('/_wharf/'); throw new HTTPError(path, 401, 'signed out'); }
          const data = await response.json().catch(() => ({}));
          if (!response.ok) throw new HTTPError(path, response.status, data.error ?? '');
          return data;
        }

        /** The scheduler's routes answer 404/503 when `wharf edge` runs without it: shown as absent. */
        async function optionalJSON(path) {
          try { return await getJSON(path); } catch (e) { if (e.status === 404 || e.status === 503) return null; throw e; }
        }

        /** Whether a scheduler runs beside this edge (`wharf serve`): its status section is there. Asked
         * first, so a page of `wharf edge` does not request routes that do not exist (console errors). */
        async function schedulerStatus() {
          const status = await getJSON('/_wharf/api/status');
          if (!status.monitor) return null;
          return status;
        }

        const noScheduler = () => el('p', { class: 'empty' }, 'No scheduler runs in this process (wharf edge); wharf serve runs one.');

        async function post(path, body) {
          const response = await fetch(path, {
            method: 'POST', credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', 'X-Wharf-CSRF': csrf },
            body: body === undefined ? '' : JSON.stringify(body),
          });
          const data = await response.json().catch(() => ({}));
          if (!response.ok) throw new HTTPError(path, response.status, data.error ?? '');
          return data;
        }

        function el(tag, attributes = {}, ...children) {
          const node = document.createElement(tag);
          for (const [name, value] of Object.entries(attributes)) {
            if (value === undefined || value === null || value === false) continue;
            if (name === 'onclick') node.addEventListener('click', value);
            else node.setAttribute(name, value === true ? '' : String(value));
          }
          for (const child of children.flat()) {
            if (child === undefined || child === null) continue;
            node.append(child instanceof Node ? child : document.createTextNode(String(child)));
          }
          return node;
        }

        /** A table: columns are [heading, row => text or node]; an empty list is a sentence. */
        function table(label, columns, rows, empty = 'None.') {
          if (!rows.length) return el('p', { class: 'empty' }, empty);
          return el('table', { 'aria-label': label },
            el('thead', {}, el('tr', {}, columns.map(([heading]) => el('th', { scope: 'col' }, heading)))),
            el('tbody', {}, rows.map(row => el('tr', {}, columns.map(([, cell]) => el('td', {}, cell(row)))))));
        }

        function fill(id, ...nodes) { document.getElementById(id)?.replaceChildren(...nodes); }

        const number = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });
        function fmt(v, unit = '') { return v === null || v === undefined || Number.isNaN(v) ? '–' : `${number.format(v)}${unit}`; }
        function bytes(v) {
          if (v === null || v === undefined) return '–';
          const units = ['B', 'KB', 'MB', 'GB', 'TB'];
          let i = 0;
          while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
          return `${number.format(v)} ${units[i]}`;
        }
        function when(seconds) { return seconds ? new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19) : '–'; }
        function isoWhen(text) { return text ? text.replace('T', ' ').replace('Z', '').slice(0, 19) : '–'; }
        function duration(seconds) {
          if (seconds === null || seconds === undefined) return '–';
          if (seconds < 60) return `${number.format(seconds)} s`;
          return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
        }

        /**
         * A line chart as SVG: series of [t, value] points (null values leave a gap), y from 0 to the
         * largest value; the figure's caption names the latest value of each series.
         */
        function chart(title, series, format = v => fmt(v)) {
          const W = 480, H = 150, L = 48, R = 8, T = 8, B = 22;
          const all = series.flatMap(s => s.points.filter(p => p[1] !== null && p[1] !== undefined));
          const svg = document.createElementNS(SVG, 'svg');
          svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
          svg.setAttribute('role', 'img');
          svg.setAttribute('class', 'chart');
          const latest = series.map(s => {
            const last = [...s.points].reverse().find(p => p[1] !== null && p[1] !== undefined);
            return `${s.label} ${last ? format(last[1]) : '–'}`;
          }).join(', ');
          svg.setAttribute('aria-label', `${title}: ${latest}`);
          const svgEl = (tag, attributes) => {
            const node = document.createElementNS(SVG, tag);
            for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
            svg.append(node);
            return node;
          };
          const t0 = Math.min(...all.map(p => p[0])), t1 = Math.max(...all.map(p => p[0]));
          const top = Math.max(...all.map(p => p[1]), 0) || 1;
          const x = t => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 1) * (W - L - R);
          const y = v => T + (1 - v / top) * (H - T - B);
          svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' });
          svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' });
          // The scale's top inside the plot (a long label such as "7.34 KB/s" does not fit left of the axis).
          svgEl('text', { x: L + 4, y: T + 8, class: 'tick' }).textContent = format(top);
          svgEl('text', { x: L - 4, y: H - B, class: 'tick', 'text-anchor': 'end' }).textContent = '0';
          if (all.length) {
            svgEl('text', { x: L, y: H - 6, class: 'tick' }).textContent = when(t0).slice(11);
            svgEl('text', { x: W - R, y: H - 6, class: 'tick', 'text-anchor': 'end' }).textContent = when(t1).slice(11);
          }
          let count = 0;
          series.forEach((s, i) => {
            let run = [];
            const flush = () => {
              if (run.length === 1) svgEl('circle', { cx: run[0][0], cy: run[0][1], r: 2.5, class: `dot s${i}` });
              else if (run.length > 1) svgEl('polyline', { points: run.map(p => p.join(',')).join(' '), class: `line s${i}` });
              run = [];
            };
            for (const [t, v] of s.points) {
              if (v === null || v === undefined) { flush(); continue; }
              run.push([x(t).toFixed(1), y(v).toFixed(1)]);
              count++;
            }
            flush();
          });
          const legend = el('ul', { class: 'legend' }, series.map((s, i) => el('li', { class: `s${i}` }, s.label)));
          return el('figure', { class: 'chart-box', 'data-points': count },
            el('figcaption', {}, el('strong', {}, title), ' ', el('span', { class: 'latest' }, latest)), svg, legend);
        }

        // MARK: pages

        async function overview() {
          const [status, history] = await Promise.all([getJSON('/_wharf/api/status'), getJSON('/_wharf/api/dashboard/history')]);
          const edge = status.edge ?? {}, monitor = status.monitor;
          const cache = edge.cache ?? {};
          const lookups = (cache.hits ?? 0) + (cache.misses ?? 0);
          const figures = [
            ['Requests served', fmt(edge.requests?.total)],
            ['Connections open', fmt(edge.connections?.open)],
            ['Bytes sent', bytes(edge.bytesSent)],
            ['Cache hit ratio', lookups ? fmt(100 * cache.hits / lookups, ' %') : '–'],
            ['Cache held', `${bytes(cache.bytes)} of ${bytes(cache.budget)}`],
            ['Apps served', fmt(edge.apps?.length)],
            ['Builds running', monitor ? fmt(monitor.queue?.running) : 'no scheduler'],
            ['Builds queued', monitor ? fmt(monitor.queue?.queued) : 'no scheduler'],
            ['Slots active / desired', monitor?.slots ? `${monitor.slots.active} / ${monitor.slots.desired}` : '–'],
            ['Alerts firing', monitor ? fmt(monitor.alerts?.firing) : '–'],
          ];
          fill('figures', ...figures.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)]));
          const points = history.points;
          const series = (label, key, scale = 1) => ({ label, points: points.map(p => [p.t, p[key] === null || p[key] === undefined ? null : p[key] * scale]) });
          fill('charts',
            chart('Requests per second', [series('req/s', 'requestsPerSecond')]),
            chart('Bandwidth', [series('sent', 'bytesPerSecond')], v => `${bytes(v)}/s`),
            chart('Cache hit ratio', [series('hits', 'cacheHitRatio', 100)], v => fmt(v, ' %')),
            chart('Latency (bucket upper bound)', [series('p50', 'p50Ms'), series('p99', 'p99Ms')], v => fmt(v, ' ms')),
            chart('Errors per second', [series('4xx', 'status4xxPerSecond'), series('5xx', 'status5xxPerSecond')]),
            chart('Connections open', [series('open', 'connections')]));
        }

        async function builds() {
          const status = await schedulerStatus();
          if (!status) { fill('queue', noScheduler()); return; }
          const [queued, running, recent, slow] = await Promise.all([
            optionalJSON('/_wharf/api/jobs?status=queued&limit=100'), optionalJSON('/_wharf/api/jobs?status=running&limit=100'),
            optionalJSON('/_wharf/api/jobs?limit=200'), optionalJSON('/_wharf/api/alerts?all=1&kind=slow_build&limit=20')]);
          if (queued === null) { fill('queue', noScheduler()); return; }
          const explained = await Promise.all(queued.slice(0, 50).map(async job => {
            const explanation = await optionalJSON(`/_wharf/api/jobs/${job.id}/explain`);
            return { job, explanation };
          }));
          explained.sort((a, b) => (b.explanation?.total ?? 0) - (a.explanation?.total ?? 0) || a.job.queuedAt - b.job.queuedAt);
          const breakdown = e => e ? el('ul', { class: 'factors' }, e.factors.filter(f => f.contribution !== 0)
            .map(f => el('li', {}, `${f.name} ${fmt(f.contribution)}`))) : '–';
          fill('queue', table('Queued builds', [
            ['#', r => String(explained.indexOf(r) + 1)], ['Job', r => String(r.job.id)], ['App', r => r.job.app],
            ['Type', r => r.job.buildType], ['Kind', r => r.job.kind], ['Queued', r => when(r.job.queuedAt)],
            ['Score', r => fmt(r.explanation?.total)], ['Breakdown', r => breakdown(r.explanation)],
          ], explained, 'Nothing queued.'));
          const now = Date.now() / 1000;
          // Each running build's stage timeline (from its log, on the server), at most 20 builds.
          const timelines = new Map(await Promise.all((running ?? []).slice(0, 20).map(async job =>
            [job.id, await optionalJSON(`/_wharf/api/builds/${encodeURIComponent(job.id)}/stages`)])));
          fill('running', table('Running builds', [
            ['Job', j => String(j.id)], ['App', j => j.app], ['Type', j => j.buildType], ['Slot', j => j.slotId ?? '–'],
            ['Attempt', j => `${j.attempt} of ${j.maxAttempts}`], ['Running for', j => el('span', { class: 'elapsed', 'data-since': j.startedAt ?? null }, duration(now - (j.startedAt ?? now)))],
            ['Stages', j => timeline(j, timelines.get(j.id))],
            ['Log', j => logButton(j.id)],
          ], running ?? [], 'No build running.'));
          const finished = (recent ?? []).filter(j => j.finishedAt).sort((a, b) => b.finishedAt - a.finishedAt).slice(0, 50);
          fill('finished', table('Finished builds', [
            ['Job', j => String(j.id)], ['App', j => j.app], ['Type', j => j.buildType],
            ['Outcome', j => el('span', { class: `state ${j.state}` }, j.state)],
            ['Duration', j => duration(j.startedAt ? j.finishedAt - j.startedAt : null)], ['Finished', j => when(j.finishedAt)],
            ['Cache hit', j => j.cacheHit ? 'yes' : 'no'], ['Error', j => j.error ?? ''], ['Log', j => logButton(j.id)],
          ], finished, 'No build has finished yet.'));
          const outcomes = status.monitor?.builds?.outcomes ?? {};
          const types = Object.entries(outcomes).map(([type, counts]) => {
            const total = Object.values(counts).reduce((a, b) => a + b, 0);
            return { type, counts, total, success: total ? (counts.succeeded ?? 0) / total : null };
          });
          const rolling = status.monitor?.builds?.window;
          const slowRows = (slow?.alerts ?? []);
          fill('types',
            table('Outcomes by build type', [
              ['Type', t => t.type], ['Builds', t => String(t.total)], ['Success rate', t => t.success === null ? '–' : fmt(100 * t.success, ' %')],
              ['Outcomes', t => Object.entries(t.counts).map(([o, n]) => `${o} ${n}`).join(', ')],
            ], types, 'No build has finished since start.'),
            el('p', {}, rolling ? `Rolling window: ${rolling.builds} builds, ${rolling.failures} failed, average ${duration(rolling.averageSeconds)}.` : ''),
            el('div', { class: 'charts' }, durationCharts(finished, slowRows)),
            el('h3', {}, 'Slow builds (duration against threshold) and suggestions'),
            table('Slow builds', [
              ['Build', a => a.summary], ['Duration', a => duration(a.details?.durationSeconds)],
              ['Threshold', a => duration(a.details?.thresholdSeconds)],
              ['State', a => a.state], ['Suggestions', a => suggestions(a)],
            ], slowRows, 'No slow build.'));
        }

        // MARK: stage timeline

        /** Seconds the server's clock is ahead of this browser's (from the last timeline answer). */
        let serverSkew = 0;
        const serverNow = () => Date.now() / 1000 + serverSkew;

        /**
         * A running build's stages as a horizontal bar (SVG: no inline style, which the CSP forbids),
         * one segment per stage in proportion to its time, the running one highlighted; below it the
         * stages as a list with their durations, the running one's elapsed time ticking every second.
         */
        function timeline(job, data) {
          if (!data || !data.stages?.length) {
            return el('span', { class: 'empty' }, data ? 'No ::stage marker yet.' : '–');
          }
          serverSkew = data.now - Date.now() / 1000;
          const start = data.startedAt ?? data.stages[0].startedAt;
          const end = Math.max(data.now, ...data.stages.map(s => s.endedAt ?? s.startedAt));
          const span = Math.max(end - start, 0.001);
          const W = 320, H = 22;
          const svg = document.createElementNS(SVG, 'svg');
          svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
          svg.setAttribute('class', 'timeline-bar');
          svg.setAttribute('aria-hidden', 'true');
          svg.setAttribute('preserveAspectRatio', 'none');
          const svgEl = (tag, attributes) => {
            const node = document.createElementNS(SVG, tag);
            for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
            svg.append(node);
            return node;
          };
          svgEl('rect', { x: 0, y: 0, width: W, height: H, class: 'track' });
          data.stages.forEach((stage, i) => {
            const from = (stage.startedAt - start) / span * W;
            const to = ((stage.endedAt ?? data.now) - start) / span * W;
            const segment = svgEl('rect', { x: from.toFixed(1), y: 0, width: Math.max(to - from, 1).toFixed(1), height: H,
              class: `segment c${i % 4}${stage.current ? ' current' : ''}` });
            if (stage.current) segment.setAttribute('data-stage', stage.name);
          });
          const items = data.stages.map(stage => el('li', {
            class: stage.current ? 'current' : 'done', 'data-stage': stage.name, 'data-seconds': stage.seconds.toFixed(1),
            'aria-current': stage.current ? 'step' : null,
          }, el('span', { class: 'stage-name' }, stage.name), ' ',
             el('span', { class: 'elapsed', 'data-since': stage.current ? String(stage.startedAt) : null }, duration(stage.seconds)),
             stage.current ? ' (running)' : ''));
          const note = data.omitted ? el('p', { class: 'empty' }, `${data.omitted} earlier stages not shown.`) : null;
          return el('div', { class: 'timeline', 'data-job': job.id, 'data-current': data.current ?? '' },
            svg, el('ol', { class: 'stages', 'aria-label': `Stages of build ${job.id}, attempt ${data.attempt}` }, items), note);
        }

        /** The running builds' and stages' elapsed times, once a second between polls. */
        if (page === 'builds') setInterval(() => {
          for (const node of document.querySelectorAll('#running .elapsed[data-since]')) {
            node.textContent = duration(Math.max(0, Math.round(serverNow() - Number(node.dataset.since))));
          }
        }, 1000);

        // MARK: live build log

        /** Lines kept on screen: the oldest go first (a long build's log does not grow the page without end). */
        const LOG_LINES = 500;
        let logStream = null;

        function logButton(id) {
          return el('button', { type: 'button', class: 'show-log', 'data-job': id, 'aria-controls': 'log',
            'aria-pressed': document.getElementById('log')?.dataset.job === String(id) ? 'true' : 'false',
            onclick: () => openLog(id) }, 'Log');
        }

        function closeLog(status) {
          logStream?.close();
          logStream = null;
          if (status !== undefined) fill('log-status', status);
        }

        /**
         * Follows build `id`'s log over Server-Sent Events (`/_wharf/api/builds/{id}/log`, the session
         * cookie goes along): each event is one line, appended as text; `event: end` carries the final
         * state and closes the stream. A finished build's stream sends its whole log, then the end. On an
         * error the stream is closed, not left to reconnect (that would send the log again from the start).
         */
        function openLog(id) {
          const box = document.getElementById('log');
          if (!box) return;
          closeLog();
          box.replaceChildren();
          box.hidden = false;
          box.dataset.job = String(id);
          box.dataset.state = 'streaming';
          document.getElementById('log-close').hidden = false;
          for (const b of document.querySelectorAll('button.show-log')) b.setAttribute('aria-pressed', String(b.dataset.job === String(id)));
          fill('log-status', `Build ${id}: following its log…`);
          const stream = new EventSource(`/_wharf/api/builds/${encodeURIComponent(id)}/log`);
          logStream = stream;
          stream.onmessage = event => {
            if (stream !== logStream) return;
            const follow = box.scrollTop + box.clientHeight >= box.scrollHeight - 8;
            const line = document.createElement('li');
            line.textContent = event.data;
            box.append(line);
            while (box.childElementCount > LOG_LINES) box.firstElementChild.remove();
            if (follow) box.scrollTop = box.scrollHeight;
          };
          stream.addEventListener('end', event => {
            if (stream !== logStream) return;
            let state = '';
            try { state = JSON.parse(event.data).state ?? ''; } catch { state = ''; }
            box.dataset.state = 'ended';
            closeLog(`Build ${id} ended: ${state}. ${box.childElementCount} lines shown (the last ${LOG_LINES} at most).`);
          });
          stream.onerror = () => {
            if (stream !== logStream) return;
            box.dataset.state = 'interrupted';
            closeLog(`Build ${id}: the log stream stopped (signed out, or the build is unknown). Choose Log to try again.`);
          };
        }

        document.getElementById('log-close')?.addEventListener('click', () => {
          closeLog('Log closed.');
          const box = document.getElementById('log');
          box.hidden = true;
          box.dataset.state = 'closed';
          delete box.dataset.job;
          document.getElementById('log-close').hidden = true;
          for (const b of document.querySelectorAll('button.show-log')) b.setAttribute('aria-pressed', 'false');
        });

        /** Per build type: finished builds' durations over time against the type's slow-build threshold
         * (known from its slow_build alerts; the monitor's thresholds are not otherwise on the API). */
        function durationCharts(finished, slowAlerts) {
          const byType = new Map();
          for (const job of [...finished].filter(j => j.startedAt).sort((a, b) => a.finishedAt - b.finishedAt)) {
            if (!byType.has(job.buildType)) byType.set(job.buildType, []);
            byType.get(job.buildType).push([job.finishedAt, job.finishedAt - job.startedAt]);
          }
          return [...byType.entries()].map(([type, points]) => {
            const threshold = slowAlerts.find(a => a.details?.buildType === type)?.details?.thresholdSeconds;
            const series = [{ label: 'duration', points }];
            if (threshold !== undefined) series.push({ label: 'threshold', points: points.map(([t]) => [t, threshold]) });
            return chart(`${type}: build duration`, series, v => duration(v));
          });
        }

        function suggestions(alert) {
          const list = alert.details?.suggestions;
          if (Array.isArray(list) && list.length) return el('ul', { class: 'suggestions' }, list.map(s => el('li', {}, String(s))));
          if (typeof list === 'string') return list;
          return '–';
        }

        async function slots() {
          if (!await schedulerStatus()) { fill('slot-chart', noScheduler()); return; }
          const [report, history] = await Promise.all([optionalJSON('/_wharf/api/slots'), getJSON('/_wharf/api/dashboard/history')]);
          const points = history.points.filter(p => p.scheduler);
          const decisions = report?.history ?? [];
          fill('slot-chart', chart('Slots', [
            { label: 'desired', points: points.map(p => [p.t, p.scheduler.slotsDesired ?? null]) },
            { label: 'active', points: points.map(p => [p.t, p.scheduler.slotsActive ?? null]) },
            { label: 'busy builds', points: points.map(p => [p.t, p.scheduler.running]) },
          ]));
          if (!report) { fill('pool', noScheduler()); fill('decisions'); return; }
          fill('pool', el('p', {}, `Pool ${report.slots.length} (min ${report.minSlots}, max ${report.maxSlots}); owner ${report.owner}.`),
            table('Slots', [
              ['Slot', s => s.id], ['Phase', s => s.phase], ['Job', s => s.jobId ?? '–'], ['Builds run', s => String(s.buildsRun)],
              ['Speed', s => fmt(s.speed)], ['Warm tools', s => (s.tools ?? []).join(', ') || 'cold'],
            ], report.slots));
          fill('decisions', table('Scaling decisions', [
            ['Time', d => when(d.time)], ['Policy', d => d.policy], ['Desired', d => String(d.desiredSlots)], ['Reason', d => d.reason],
            ['Requested', d => (d.requested ?? []).join(', ')], ['Released', d => (d.released ?? []).join(', ')],
          ], [...decisions].reverse().slice(0, 100), 'No scaling decision yet.'));
        }

        async function act(button, question, action) {
          if (!window.confirm(question)) return;
          button.disabled = true;
          try {
            const result = await action();
            fill('action-result', `Done: ${JSON.stringify(result)}`);
          } catch (e) {
            fill('action-result', `Failed: ${e.message}`);
          } finally {
            button.disabled = false;
            refresh();
          }
        }

        /** Popularity (decayed requests), the hottest paths and how much of the live deployment is cached. */
        function traffic(name, detail) {
          if (!detail) return el('p', { class: 'empty' }, 'No traffic figures.');
          const p = detail.popularity, c = detail.cache, w = detail.lastWarm;
          const figures = [
            ['Popularity', p ? `${fmt(p.score)} (decayed requests, half-life ${fmt(p.halfLifeHours)} h)`
              : detail.popularityKnown ? 'no request recorded yet' : 'not recorded by this process'],
            ['Requests', p ? `${fmt(p.requests)} (${bytes(p.bytes)})` : '–'],
            ['Last request', p ? when(p.lastSeen) : '–'],
            ['Cache', c ? `${c.filesCached} of ${c.files} files warm (${c.representationsCached} of ${c.representations} encodings, ${bytes(c.bytesCached)})`
              : 'not served'],
            ['Last warmed', w ? `${when(w.at)} by the warm batch: ${w.loaded} loaded, ${w.skipped} skipped (${bytes(w.bytes)})`
              : 'not by the warm batch since this server started'],
          ];
          return el('div', { class: 'traffic' },
            el('dl', { class: 'pairs', 'data-app': name },
              figures.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', { 'data-figure': k.toLowerCase().replace(' ', '-') }, v)))),
            el('h4', {}, 'Hottest paths'),
            table(`Hottest paths of ${name}`, [
              ['Path', h => el('code', {}, h.path)], ['Score', h => fmt(h.score)], ['Requests', h => fmt(h.requests)],
              ['Bytes', h => bytes(h.bytes)], ['Cached', h => h.cached === null || h.cached === undefined ? 'no such file' : h.cached ? 'yes' : 'no'],
            ], detail.hotPaths ?? [], 'No path has been requested yet.'));
        }

        async function apps() {
          const { apps } = await getJSON('/_wharf/api/dashboard/apps');
          // Each app's figures (at most the first 100 apps: one request each).
          const details = new Map(await Promise.all(apps.slice(0, 100).map(async app =>
            [app.app, await optionalJSON(`/_wharf/api/dashboard/apps/${encodeURIComponent(app.app)}?paths=5`)])));
          const sections = apps.map(app => {
            const name = app.app;
            const path = encodeURIComponent(name);
            const actions = isAdmin ? el('div', { class: 'actions' },
              el('button', { type: 'button', class: 'purge', 'data-app': name,
                onclick: e => act(e.currentTarget, `Purge every cached response of ${name}?`, () => post(`/_wharf/api/apps/${path}/purge`)) }, 'Purge cache'),
              el('button', { type: 'button', class: 'warm', 'data-app': name,
                onclick: e => act(e.currentTarget, `Warm / of ${name} into the cache?`, () => post('/_wharf/api/warm', { app: name, paths: ['/'] })) }, 'Warm /'))
              : null;
            return el('article', { class: 'app', 'data-app': name }, el('h3', {}, name), actions,
              traffic(name, details.get(name)),
              el('h4', {}, 'Deployments'),
              table(`Deployments of ${name}`, [
                ['Deployment', d => d.current ? el('strong', { class: 'current' }, `${d.id} (current)`) : d.id],
                ['Version', d => d.version ?? ''], ['Message', d => d.message ?? ''], ['Created', d => when(d.createdAtMs / 1000)],
                ['Files', d => String(d.files)], ['Size', d => bytes(d.bytes)],
                ['', d => d.current || !isAdmin ? '' : el('button', { type: 'button', class: 'rollback', 'data-app': name, 'data-deployment': d.id,
                  onclick: e => act(e.currentTarget, `Make ${d.id} the live deployment of ${name}?`,
                    () => post(`/_wharf/api/apps/${path}/rollback`, { to: d.id })) }, 'Roll back to this')],
              ], app.deployments, 'No deployment.'));
          });
          fill('apps', ...(sections.length ? sections : [el('p', { class: 'empty' }, 'No app has been published.')]));
        }

        async function alerts() {
          const data = await schedulerStatus() ? await optionalJSON('/_wharf/api/alerts?all=1&limit=200') : null;
          if (data === null) { fill('alerts', noScheduler()); return; }
          const list = data.alerts ?? [];
          const resolved = list.filter(a => a.state !== 'firing').length;
          fill('alerts', el('p', {}, `${data.firing} firing, ${resolved} resolved (newest first).`),
            table('Alerts', [
              ['State', a => el('span', { class: `state ${a.state}` }, a.state)], ['Severity', a => a.severity], ['Kind', a => a.kind],
              ['Summary', a => a.summary], ['Count', a => String(a.count)], ['First seen', a => isoWhen(a.firstSeen)],
              ['Last seen', a => isoWhen(a.lastSeen)], ['Resolved', a => isoWhen(a.resolvedAt)], ['Suggestions', a => suggestions(a)],
            ], list, 'No alert.'));
        }

        const pages = { overview, builds, slots, apps, alerts };
        let timer = null;

        async function refresh() {
          clearTimeout(timer);
          try {
            await pages[page]();
            fill('updated', `Updated ${new Date().toLocaleTimeString()}; refreshes every ${POLL_MS / 1000} s.`);
            document.body.dataset.loaded = 'true';
          } catch (e) {
            fill('updated', `Could not update: ${e.message}`);
          }
          // Only while the tab is visible: a hidden dashboard costs the server nothing.
          if (!document.hidden) timer = setTimeout(refresh, POLL_MS);
        }

        if (pages[page]) {
          document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
          refresh();
        }
        """#
}
