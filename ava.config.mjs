export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  files: ['test/**/*.test.ts'],
  require: ['./test/helpers/fast-check-size.ts'],
  workerThreads: false,
  timeout: '5m',
}
