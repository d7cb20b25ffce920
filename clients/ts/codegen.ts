// Generates typed documents for every operation in ../../client_ops from the
// checked-in schema. LLMD_SCHEMA and LLMD_CODEGEN_OUT let the test suite run
// it against an altered schema without touching src/gql.
import type { CodegenConfig } from "@graphql-codegen/cli";

const schema = process.env.LLMD_SCHEMA ?? "../../schema.graphql";
const output = process.env.LLMD_CODEGEN_OUT ?? "./src/gql/";

const config: CodegenConfig = {
  schema,
  documents: ["../../client_ops/*.graphql"],
  ignoreNoDocuments: false,
  generates: {
    [output]: {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
