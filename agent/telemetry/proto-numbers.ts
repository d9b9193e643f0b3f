/**
 * Imported by proto.ts before the generated code, so it runs first (ES modules evaluate imports
 * in order): the generated types say int64 fields are numbers (pbjs --force-number), but the
 * runtime decodes them into Long objects — and bakes Long zero defaults into every message
 * prototype at load time — whenever the `long` package is installed (protobufjs depends on it).
 * Without util.Long the runtime uses plain numbers: exact for our values (< 2^53).
 */
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = null as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
