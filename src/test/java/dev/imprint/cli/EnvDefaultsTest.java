package dev.imprint.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imprint.core.Metric;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

class EnvDefaultsTest {

    @Test
    void variableIsThePrefixAndTheLongestOptionNameInUpperSnakeCase() {
        CommandLine cli = ImprintCli.commandLine(Map.of());
        CommandLine serve = cli.getSubcommands().get("serve");
        assertEquals("IMPRINT_DATA_DIR", EnvDefaults.variableFor(serve.getCommandSpec().findOption("--data-dir")));
        assertEquals("IMPRINT_MAX_MESSAGE_BYTES",
                EnvDefaults.variableFor(serve.getCommandSpec().findOption("--max-message-bytes")));
        assertEquals("IMPRINT_PORT", EnvDefaults.variableFor(serve.getCommandSpec().findOption("--port")));
    }

    @Test
    void environmentVariableReplacesTheBuiltInDefault() {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_PORT", "6123", "IMPRINT_DATA_DIR", "/srv/fp",
                "IMPRINT_HOST", "0.0.0.0"));
        cli.parseArgs("serve");
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        assertEquals(6123, serve.port);
        assertEquals(Path.of("/srv/fp"), serve.dataDir);
        assertEquals("0.0.0.0", serve.host);
    }

    @Test
    void booleanAndBatchingOptionsReadTheirVariablesToo() {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_CUDA_BF16_COSINE", "true",
                "IMPRINT_BATCH_MAX_SUSPECTS", "8", "IMPRINT_BATCH_MAX_QUEUE_DELAY_US", "300"));
        cli.parseArgs("serve");
        CommandLine serveLine = cli.getSubcommands().get("serve");
        ServeCommand serve = serveLine.getCommand();
        assertEquals(Boolean.TRUE, serveLine.getCommandSpec().findOption("--cuda-bf16-cosine").getValue());
        assertEquals(8, serve.batchMaxSuspects);
        assertEquals(300, serve.batchMaxQueueDelayMicros);

        CommandLine off = ImprintCli.commandLine(Map.of());
        off.parseArgs("serve");
        assertEquals(Boolean.FALSE, off.getSubcommands().get("serve").getCommandSpec().findOption("--cuda-bf16-cosine")
                .getValue());
    }

    @Test
    void flagOnTheCommandLineWinsOverTheEnvironment() {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_PORT", "6123"));
        cli.parseArgs("serve", "--port", "7001");
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        assertEquals(7001, serve.port);
    }

    @Test
    void withoutTheVariableTheDocumentedDefaultApplies() {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_PORT", ""));
        cli.parseArgs("serve");
        ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
        assertEquals(50051, serve.port);
        assertEquals("127.0.0.1", serve.host);
        assertEquals(Path.of("./imprint-data"), serve.dataDir);
    }

    @Test
    void listOptionsSplitTheirVariableLikeTheFlag() {
        CommandLine cli = ImprintCli.commandLine(Map.of("IMPRINT_METRICS", "cosine,js"));
        cli.parseArgs("score", "suspects.arrow");
        ScoringOptions scoring = (ScoringOptions) cli.getSubcommands().get("score").getCommandSpec().mixins()
                .get("scoring").userObject();
        assertEquals(List.of(Metric.COSINE, Metric.JS), scoring.metrics);
    }

    @Test
    void helpOfEveryCommandNamesEachOptionsVariable() {
        CommandLine cli = ImprintCli.commandLine(Map.of());
        for (CommandLine sub : cli.getSubcommands().values()) {
            String help = sub.getUsageMessage(CommandLine.Help.Ansi.OFF);
            for (OptionSpec option : sub.getCommandSpec().options()) {
                if (option.usageHelp() || option.versionHelp()) {
                    continue;
                }
                assertTrue(help.contains("env " + EnvDefaults.variableFor(option)),
                        sub.getCommandName() + " --help lacks the variable of " + option.longestName() + ":\n" + help);
            }
        }
    }

    /** picocli formats descriptions with String.format: a lone '%' prints a warning to stderr instead. */
    @Test
    void everyCommandsHelpFormatsWithoutWarnings() {
        PrintStream stderr = System.err;
        ByteArrayOutputStream warnings = new ByteArrayOutputStream();
        System.setErr(new PrintStream(warnings, true, StandardCharsets.UTF_8));
        try {
            for (CommandLine sub : ImprintCli.commandLine(Map.of()).getSubcommands().values()) {
                sub.getUsageMessage(CommandLine.Help.Ansi.OFF);
            }
        } finally {
            System.setErr(stderr);
        }
        assertEquals("", warnings.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpShowsTheDefaultBesideTheVariable() {
        String help = ImprintCli.commandLine(Map.of()).getSubcommands().get("serve")
                .getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertTrue(help.contains("env IMPRINT_PORT, default 50051"), help);
        assertTrue(help.contains("env IMPRINT_DATA_DIR, default ./imprint-data"), help);
        String rescore = ImprintCli.commandLine(Map.of()).getSubcommands().get("rescore")
                .getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertTrue(rescore.contains("env IMPRINT_SERVER\n"), "an option without a default shows none:\n" + rescore);
        assertFalse(rescore.contains("default null"), rescore);
    }

    @Test
    void unparsableVariableIsAUsageErrorNamingTheVariableAndTheOption() {
        CliRun run = CliRun.run(Map.of("IMPRINT_PORT", "fifty"), "serve");
        assertEquals(ImprintCli.EXIT_USAGE, run.exit(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.err().startsWith("imprint serve: from the environment, IMPRINT_PORT=fifty: ")
                && run.err().contains("--port"), run.toString());
    }

    @Test
    void aVariableOutOfRangeIsNamedAndAFlagOutOfRangeIsNot() {
        CliRun fromEnvironment = CliRun.run(Map.of("IMPRINT_PORT", "70000"), "serve");
        assertEquals(ImprintCli.EXIT_USAGE, fromEnvironment.exit(), fromEnvironment.toString());
        assertTrue(fromEnvironment.err().contains("from the environment, IMPRINT_PORT=70000: --port=70000; expected"),
                fromEnvironment.toString());
        CliRun fromFlag = CliRun.run(Map.of("IMPRINT_PORT", "70000"), "serve", "--port", "70001");
        assertEquals(ImprintCli.EXIT_USAGE, fromFlag.exit(), fromFlag.toString());
        assertTrue(fromFlag.err().startsWith("imprint serve: --port=70001; expected"), fromFlag.toString());
        CliRun other = CliRun.run(Map.of("IMPRINT_DATA_DIR", "/tmp"), "serve", "--port", "70001");
        assertFalse(other.err().contains("IMPRINT_"), "a variable the error is not about stays unnamed: " + other);
    }
}
