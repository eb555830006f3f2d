/**
 * Runs a child script that reports on stdout line by line, kills it with
 * SIGKILL `delayMs` after it prints READY, and hands every other line to
 * `onLine`. Resolves once every line has been read ('close', not 'exit').
 */
import { spawn } from 'node:child_process'

export function runAndKill(script: string, args: string[], delayMs: number, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.on('data', d => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (line === 'READY') timer ??= setTimeout(() => child.kill('SIGKILL'), delayMs)
        else onLine(line)
      }
    })
    child.stderr.on('data', d => { stderr += d })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`${script} exited with ${code}: ${stderr}`))
      else resolve()
    })
  })
}
