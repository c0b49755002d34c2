// Mocha adds files named on the command line to the config's spec list; naming files should run
// just those (`npx mocha dist/test/integration/hostport.test.js`), so the whole suite is the
// default only when none is named.
'use strict';
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && /\.test\.js$/.test(a));
module.exports = {
  spec: named ? [] : ['dist/test/unit/**/*.test.js', 'dist/test/native/**/*.test.js', 'dist/test/integration/**/*.test.js'],
  reporter: './test/reporter.cjs',
  timeout: 20000,
  exit: true,
};
