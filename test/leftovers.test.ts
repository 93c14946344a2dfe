/**
 * A new run stops what a killed run left behind, and nothing else (issue 20, rows 3 and 4): a
 * process is stopped only when it holds its run folder's ownership marker naming a harness that is
 * gone; a pids.json alone, however crafted, aims at nothing; a malformed one is skipped with a warning.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { spawnOwned } from '../harness/processes/children.ts'
import { OWNER_MARKER, PID_FILE, PidFile, processStart, stopLeftovers, type PidFileContent } from '../harness/processes/pidfile.ts'

const ROOT = join(import.meta.dirname, '..')
const alive = (pid: number) => processStart(pid) !== null
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
function reap(child: ChildProcess): ChildProcess {
  onTestFinished(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return child
}
/** A `sleep` nobody marked: what an attacker would aim a crafted pids.json at. */
const stranger = () => reap(spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }))
/** A `sleep` started the way the harness starts its children, holding `pids`' ownership marker. */
const owned = (pids: PidFile) => reap(spawnOwned(['sleep', '60'], { stdio: 'ignore', owner: { onSpawn: (c) => pids.track(c, 'redis'), markerFd: pids.markerFd() } }))
const exitOf = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)))
/** A harness identity that is gone: a process that has exited. */
async function deadOwner(): Promise<{ pid: number; start: string }> {
  const gone = spawn('sleep', ['0.05'])
  const start = processStart(gone.pid!)!
  await exitOf(gone)
  return { pid: gone.pid!, start }
}
const entry = (c: ChildProcess, start = processStart(c.pid!)!) => ({ pid: c.pid!, start, role: 'redis', command: 'sleep 60' })
function writePidFile(dir: string, content: PidFileContent | null) {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, PID_FILE), JSON.stringify(content))
}

describe.runIf(process.platform === 'linux')('a new run stops what a killed run left behind, and only that', () => {
  it('stops a recorded process that holds its run folder\'s marker of a dead harness; never a reused pid, nor anything of a live run', async () => {
    const out = tempDir('authbench-leftovers-')
    mkdirSync(join(out, 'killed-run'))
    const killed = new PidFile(join(out, 'killed-run', PID_FILE), await deadOwner())
    const [left, reused] = [owned(killed), owned(killed)]
    writePidFile(join(out, 'killed-run'), { owner: await deadOwner(), processes: [entry(left), entry(reused, `${processStart(reused.pid!)}0`)] })
    mkdirSync(join(out, 'live-run'))
    const live = new PidFile(join(out, 'live-run', PID_FILE))
    const ofLiveRun = owned(live)
    const running = { status: 'running', finishedAt: null, cells: [{ id: 'kept', state: 'completed' }] }
    for (const run of ['killed-run', 'live-run']) writeFileSync(join(out, run, 'results.json'), JSON.stringify(running))

    const { stopped } = await stopLeftovers(out)
    expect(stopped.map((p) => p.pid)).toEqual([left.pid])
    await exitOf(left)
    expect(left.signalCode).toBe('SIGTERM')
    expect(alive(reused.pid!)).toBe(true)
    expect(alive(ofLiveRun.pid!)).toBe(true)
    expect(existsSync(join(out, 'killed-run', PID_FILE))).toBe(false)
    expect(existsSync(join(out, 'live-run', PID_FILE))).toBe(true)
    // the killed run no longer says it is running, and keeps what it finished; the live one is left alone
    const results = (run: string) => JSON.parse(readFileSync(join(out, run, 'results.json'), 'utf8'))
    expect(results('killed-run')).toMatchObject({ status: 'interrupted', reason: expect.stringMatching(/^the harness died without finishing/), cells: running.cells })
    expect(results('live-run')).toEqual(running)
  })

  it('leaves alone every process a crafted pids.json names: one authbench never started, one of another run, one of a live run whose file was rewritten', async () => {
    const out = tempDir('authbench-crafted-')
    const victim = stranger()
    // another run folder's child, its harness gone: it holds that folder's marker, not the crafted one's
    mkdirSync(join(out, 'other-run'))
    const other = new PidFile(join(out, 'other-run', PID_FILE), await deadOwner())
    const ofOtherRun = owned(other)
    rmSync(join(out, 'other-run', PID_FILE)) // only the crafted file names it, for now
    // a live run whose pids.json someone rewrote to name a dead owner: its marker still names the live harness
    mkdirSync(join(out, 'live-run'))
    const live = new PidFile(join(out, 'live-run', PID_FILE))
    const ofLiveRun = owned(live)
    writePidFile(join(out, 'crafted'), { owner: await deadOwner(), processes: [entry(victim), entry(ofOtherRun)] })
    writePidFile(join(out, 'live-run'), { owner: await deadOwner(), processes: [entry(ofLiveRun)] })
    writeFileSync(join(out, 'crafted', OWNER_MARKER), JSON.stringify({ owner: await deadOwner() })) // a marker nobody holds proves nothing

    const { stopped, warnings } = await stopLeftovers(out, 500)
    expect(stopped).toEqual([])
    for (const c of [victim, ofOtherRun, ofLiveRun]) expect(alive(c.pid!), `pid ${c.pid}`).toBe(true)
    expect(warnings.filter((w) => w.startsWith('left '))).toHaveLength(3)
    // the other run's process is a genuine leftover of that run: its own folder's pids.json gets it stopped
    writePidFile(join(out, 'other-run'), { owner: await deadOwner(), processes: [entry(ofOtherRun)] })
    expect((await stopLeftovers(out)).stopped.map((p) => p.pid)).toEqual([ofOtherRun.pid])
  })

  it('skips a pids.json holding null, a number or half an entry with one warning each, and stops nothing', async () => {
    const out = tempDir('authbench-malformed-')
    const victim = stranger()
    for (const [name, text] of [['null', 'null'], ['number', '7'], ['torn', '{"owner":{"pid":'], ['no-start', JSON.stringify({ owner: { pid: 1, start: 'x' }, processes: [{ pid: victim.pid }] })]] as const) {
      mkdirSync(join(out, name))
      writeFileSync(join(out, name, PID_FILE), text)
    }
    const { stopped, warnings } = await stopLeftovers(out)
    expect(stopped).toEqual([])
    expect(warnings.map((w) => /skipped .*\/(\S+)\/pids\.json: not a pid file authbench wrote/.exec(w)?.[1]).sort()).toEqual(['no-start', 'null', 'number', 'torn'])
    expect(alive(victim.pid!)).toBe(true)
  })

  it('npm run bench into a results folder holding a null pids.json runs as usual and says what it skipped', () => {
    const out = tempDir('authbench-null-pids-')
    writePidFile(join(out, 'old-run'), null)
    const r = spawnSync('npm', ['run', 'bench', '--', '--out', out, '--scenarios', 'request-size', '--quick', '--strategies', 'jwt'], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 })
    expect(r.status, r.stderr).toBe(0)
    expect(`${r.stdout}${r.stderr}`).toMatch(/skipped .*old-run\/pids\.json: not a pid file authbench wrote \(not an object/)
  }, 90_000)
})
