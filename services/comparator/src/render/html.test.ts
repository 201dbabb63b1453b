import { describe, expect, it } from 'vitest';
import { FIXTURE_NOW, fixtureReports } from './fixtures.ts';
import { renderHtml } from './html.ts';

/** The <section> of one candidate. */
function section(html: string, candidate: string): string {
  const start = html.indexOf(`data-candidate="${candidate}"`);
  expect(start).toBeGreaterThan(0);
  const end = html.indexOf('</section>', start);
  return html.slice(start, end);
}

describe('renderHtml', () => {
  const html = renderHtml(fixtureReports(), { now: FIXTURE_NOW });

  it('is one self-contained document: no script, no external resource', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//i);
    // The only URL is the SVG namespace, which is a name, not a fetch.
    expect(html.match(/https?:\/\/[^"]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(html.match(/<style>/g)).toHaveLength(1);
  });

  it('colour-codes each verdict and explains it', () => {
    expect(section(html, 'credit-risk-v2-close')).toContain('class="verdict ok" data-testid="verdict" data-status="ok"');
    const regressed = section(html, 'credit-risk-v2-regressed');
    expect(regressed).toContain('data-status="worse"');
    // With an A/A replay, latency is judged against the baseline replayed in the same environment.
    expect(regressed).toContain('<li class="worse">p99 latency ×1.48 (point estimate) of the baseline replayed alongside it (A/A: 48.4 ms n=5 000; candidate 71.5 ms n=19 950; limit ×1.20)</li>');
    expect(regressed).toContain('<li class="ok">error rate 0.24 % [0.18, 0.32] n=20 000 (allowed 0.70 %)</li>');
    const thin = section(html, 'credit-risk-v3-sampled');
    expect(thin).toContain('data-status="inconclusive"');
    expect(thin).toContain('only 120 compared pairs');
  });

  it('shows agreement with its interval and n, and a forest plot of segments', () => {
    const close = section(html, 'credit-risk-v2-close');
    expect(close).toContain('<span class="ci" data-testid="agreement-interval">[99.18, 99.41]</span> <span class="n">n=19 960 · wilson-95</span>');
    const start = close.indexOf('data-testid="agreement-forest"');
    const forest = close.slice(start, close.indexOf('</svg>', start));
    // overall + 5 segments, each with its number, interval and n.
    for (const note of ['99.31 % [99.18, 99.41] n=19 960', '99.23 % [98.98, 99.42] n=6 000', '99.40 % [99.23, 99.53] n=9 980']) expect(forest).toContain(note);
    expect(forest).toContain('floor 98.0 %');
    expect(forest).toContain('A/A 99.8 %');
  });

  it('shows label shifts with McNemar p and the confusion of labels', () => {
    const regressed = section(html, 'credit-risk-v2-regressed');
    const shifts = regressed.slice(regressed.indexOf('data-testid="label-shifts"'));
    expect(shifts).toContain('<tr><th scope="row">reject</th><td class="r"><span class="num over">+3.42 %</span> <span class="ci">[3.09, 3.74]</span></td><td><span class="p">p&lt;0.001</span></td><td class="r">218</td><td class="r">900</td><td class="r">19 950</td></tr>');
    expect(regressed).toContain('data-testid="confusion"');
    expect(regressed).toContain('<td class="r over">900</td>');
  });

  it('draws latency quantiles as bars with the numbers in a table, and says there is no interval', () => {
    const regressed = section(html, 'credit-risk-v2-regressed');
    expect(regressed).toContain('data-testid="latency-chart"');
    expect(regressed.match(/<rect [^>]*rx="2"><title>p\d\d (?:baseline|candidate): [\d.]+<\/title>/g)).toHaveLength(6);
    expect(regressed).toContain('<tr><th scope="row">p99</th><td class="r"><span class="num">48.0 ms</span></td><td class="r"><span class="num">71.5 ms</span></td><td class="r"><span class="num">23.5 ms</span></td><td class="r"><span class="num">×1.49</span></td><td class="r">19 950</td></tr>');
    expect(regressed).toContain('The report gives no interval for quantiles, so n is the evidence.');
  });

  it('marks drift against its thresholds, with the binned distributions, and keeps production drift apart', () => {
    const regressed = section(html, 'credit-risk-v2-regressed');
    expect(regressed).toContain('<h4>output value (candidate vs baseline)</h4>');
    expect(regressed).toContain('<span class="num over">0.184</span>');
    expect(regressed).toContain('&gt; 0.1');
    expect(regressed).toContain('<span class="p over">p&lt;0.001</span>');
    expect(regressed).toContain('data-testid="drift-histogram"');
    expect(regressed).toContain('<h4>baseline&#39;s latency (window vs reference window)</h4>');
    expect(section(html, 'credit-risk-v2-close')).toContain('≤ 0.1');
  });

  it('lists the worst segments first and the differing fields with their A/A noise rate', () => {
    const regressed = section(html, 'credit-risk-v2-regressed');
    const segments = [...regressed.matchAll(/data-testid="segment-row" data-segment="([^"]+)"/g)].map((m) => m[1]);
    expect(segments.slice(0, 2)).toEqual(['input_class=thin-file', 'region=apac']);
    expect(regressed).toContain('+8.20 % into &quot;reject&quot;');
    const close = section(html, 'credit-risk-v2-close');
    expect(close).toContain('<code>$.label</code>');
    expect(close).toContain('<td class="r">0.04 % <span class="n">n=5 000</span></td><td><span class="over">yes</span></td><td class="r">138 of 19 960</td>');
  });

  it('escapes names it did not write', () => {
    const [r] = fixtureReports();
    const page = renderHtml([{ ...r!, candidate: '<img src=x onerror=alert(1)>' }], { now: FIXTURE_NOW });
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('says there is nothing to report when there are no reports', () => {
    const page = renderHtml([], { experiment: 'quiet', now: FIXTURE_NOW });
    expect(page).toContain('data-testid="no-reports"');
    expect(page).toContain('<span data-testid="experiment">quiet</span>');
  });
});
