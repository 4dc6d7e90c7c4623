import { getQuickJS } from './src/quickjs.ts';
const q = await getQuickJS();
const codes = {
  plain: `function f(n){d=n; return f(n+1)+1} f(0)`,
  map: `function f(n){d=n; return [n].map(function(x){ return f(x+1) })} f(0)`,
  getter: `var o = {}; Object.defineProperty(o, 'x', { get: function(){ d++; return o.x } }); o.x`,
  proxy: `var p = new Proxy({}, { get: function(t,k){ d++; return p[k] } }); p.x`,
  json: `var s=''; for (var i=0;i<200000;i++) s+='['; JSON.parse(s)`,
  stringify: `var o={}; var c=o; for (var i=0;i<100000;i++){ c.a={}; c=c.a } JSON.stringify(o)`,
  tostring: `var o = { toString: function(){ d++; return String(o) } }; String(o)`,
  bind: `function f(n){d=n; return f.call(null, n+1)} f(0)`,
  apply: `function f(n){d=n; return Reflect.apply(f, null, [n+1])} f(0)`,
  sort: `function f(n){d=n; [2,1].sort(function(){ return f(n+1) }) } f(0)`,
  async: `async function f(n){d=n; return await f(n+1)} f(0)`,
  gen: `function* g(n){ d=n; yield* g(n+1) } g(0).next()`,
};
const size = Number(process.argv[2]);
function deep(n: number): void { if (n > 0) return deep(n - 1); run(); }
function run() {
for (const [name, code] of Object.entries(codes)) {
const rt = q.newRuntime(); rt.setMemoryLimit(64*1024*1024); rt.setMaxStackSize(size);
const t0 = Date.now(); rt.setInterruptHandler(() => Date.now() - t0 > 3000);
const ctx = rt.newContext();
try { const r = ctx.evalCode(`var d=0; try { ${code} } catch (e) { [e.name, e.message, d] }`); console.log(size, name, r.error ? ctx.dump(r.error) : JSON.stringify(ctx.dump(r.value))); r.dispose(); } catch (e) { console.log(size, name, 'HOST', String(e).slice(0,80)); }
}}
deep(Number(process.argv[3] ?? 0));
