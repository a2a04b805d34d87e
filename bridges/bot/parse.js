'use strict'
// What a program declares and calls, as the runner decides it (runner.js describeProgram), for
// Python: one JSON request per line on stdin ({"code": "..."}), one JSON answer per line on
// stdout. lifelong/minecraft/program.py keeps one such process for its whole life: a Node start
// costs ~50 ms, an answer from a warm one well under a millisecond.
const readline = require('readline')
const { describeProgram } = require('./runner')

const lines = readline.createInterface({ input: process.stdin, terminal: false })
lines.on('line', (line) => {
  let answer
  try {
    answer = describeProgram(String(JSON.parse(line).code))
  } catch (err) {
    answer = { error: { type: 'ParserError', message: `ParserError: ${err.message}` } }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
})
