import { createEcmaScriptPlugin, runNodeJs } from "@bufbuild/protoplugin";
runNodeJs(createEcmaScriptPlugin({ name: "placeholder", version: "v0", generateTs() {} }));
