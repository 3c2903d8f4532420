/*
 * TEST STAND-IN engine helper: a minimal `.ts` loader for the engine child process.
 * `node --import tsx` inspects every .js file the Pulumi SDKs load and adds ~1.5 s per `up`;
 * this compiles only .ts files (the program and the engine), with the esbuild that tsx ships.
 * Falls back to tsx's CommonJS hook when esbuild cannot be found.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

function findEsbuild() {
  try {
    const tsxDir = path.dirname(require.resolve("tsx/package.json"));
    return require(require.resolve("esbuild", { paths: [tsxDir] }));
  } catch {
    return undefined;
  }
}

const esbuild = findEsbuild();
if (esbuild) {
  process.setSourceMapsEnabled(true);
  require.extensions[".ts"] = (module, filename) => {
    const { code } = esbuild.transformSync(fs.readFileSync(filename, "utf8"), {
      loader: "ts",
      format: "cjs",
      target: "node20",
      sourcefile: filename,
      sourcemap: "inline",
    });
    module._compile(code, filename);
  };
} else {
  require("tsx/cjs");
}
