#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (npm run build writes out/).
require('../out/server/cli.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
