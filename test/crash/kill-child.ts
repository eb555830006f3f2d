/**
 * Runs a child script, kills it with SIGKILL `delayMs` after it prints READY
 * on stdout, then hands every line of its report to `onLine`.
 *
 * The child writes its report to a file with synchronous writes (see
 * {@link reportLine}), not to stdout: writes to a pipe are queued in the child
 * when the pipe is full, and a SIGKILL loses whatever is queued — the parent
 * would then not know of writes the child had already submitted.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function runAndKill(script: string, args: string[], delayMs: number, onLine: (line: string) => void): Promise<void> {
  const reportDir = mkdtempSync(join(tmpdir(), 'lsm-report-'))
  const report = join(reportDir, 'report.txt')
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LSM_CRASH_REPORT: report },
    })
    let stdout = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.on('data', d => {
      stdout += d
      if (stdout.includes('READY\n')) timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.stderr.on('data', d => { stderr += d })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      try {
        if (signal !== 'SIGKILL') throw new Error(`${script} exited with ${code}: ${stderr}`)
        for (const line of readFileSync(report, 'utf8').split('\n')) if (line.length > 0) onLine(line)
        resolve()
      } catch (e) {
        reject(e)
      } finally {
        rmSync(reportDir, { recursive: true, force: true })
      }
    })
  })
}

let reportFd = -1

/** In the child: appends one report line, synchronously, so that it survives a SIGKILL right after. */
export function reportLine(line: string): void {
  if (reportFd < 0) reportFd = openSync(process.env.LSM_CRASH_REPORT!, 'a')
  writeSync(reportFd, line + '\n')
}
