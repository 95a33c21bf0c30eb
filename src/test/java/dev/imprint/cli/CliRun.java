package dev.imprint.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import picocli.CommandLine;

/** Runs {@code imprint} in-process with captured stdout and stderr and a given environment. */
record CliRun(int exit, String out, String err) {

    static CliRun run(String... args) {
        return run(Map.of(), args);
    }

    static CliRun run(Map<String, String> environment, String... args) {
        return run(ImprintCli.commandLine(environment), args);
    }

    /** Runs an already built command line, e.g. one whose command objects a test holds. */
    static CliRun run(CommandLine cli, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    /** The error output as lines, ignoring a trailing newline. */
    String[] errLines() {
        return err.strip().split("\\R");
    }

    @Override
    public String toString() {
        return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
}
