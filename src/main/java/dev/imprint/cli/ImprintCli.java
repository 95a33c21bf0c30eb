package dev.imprint.cli;

import dev.imprint.core.ImprintException;
import dev.imprint.server.ImprintServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code imprint}: the command-line entry point. Each subcommand works against the engine
 * in-process (over a data directory) or against a server through the client.
 *
 * <p>Exit codes: {@value #EXIT_OK} success; {@value #EXIT_FAILURE} a failure reported in one line
 * (bad data, unknown id, unreachable server, I/O error, a demo check that did not hold);
 * {@value #EXIT_USAGE} a command-line mistake; {@value #EXIT_INTERNAL} an unexpected internal error
 * (printed with its stack trace, as it is a bug).
 */
@Command(name = "imprint", mixinStandardHelpOptions = true, versionProvider = ImprintCli.Version.class,
        description = "Fingerprint matching: which reference model was a suspect model distilled from?",
        subcommands = {ServeCommand.class, SynthCommand.class, PutCommand.class, ScoreCommand.class,
            RescoreCommand.class, ReportCommand.class, EvaluateCommand.class, BenchCommand.class, InfoCommand.class,
            ListCommand.class, DeleteCommand.class, ProbeSetCommand.class, TopKCommand.class, CaptureCommand.class,
            EndpointCommand.class, DemoCommand.class, TokenCommand.class},
        footer = {"", "Every option can also be set by an environment variable IMPRINT_<OPTION> "
                + "(e.g. --data-dir: IMPRINT_DATA_DIR); a flag on the command line wins."})
public final class ImprintCli implements Callable<Integer> {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INTERNAL = 70;

    @Spec
    private CommandSpec spec;

    @Option(names = "--log-level", paramLabel = "LEVEL", scope = ScopeType.INHERIT, defaultValue = "INFO",
            description = "Log level on stderr: SEVERE, WARNING, INFO, FINE...")
    void logLevel(String level) {
        try {
            configureLogging(Level.parse(level.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    "--log-level=" + level + "; expected SEVERE, WARNING, INFO, CONFIG, FINE, FINER, FINEST, ALL or OFF");
        }
    }

    public static void main(String[] args) {
        // Must precede the first use of java.util.logging; see KeepLoggingManager.
        System.setProperty("java.util.logging.manager", KeepLoggingManager.class.getName());
        System.exit(commandLine(System.getenv()).execute(args));
    }

    /**
     * The configured command line: env-var defaults from {@code environment}, one-line errors with
     * the exit codes above, and help that names each option's variable and default.
     */
    public static CommandLine commandLine(Map<String, String> environment) {
        CommandLine cli = new CommandLine(new ImprintCli());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        EnvDefaults defaults = new EnvDefaults(environment);
        cli.setDefaultValueProvider(defaults);
        cli.setHelpFactory(EnvAwareHelp::new);
        cli.setParameterExceptionHandler((e, args) -> usageError(e, args, defaults));
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> failure(e, commandLine));
        return cli;
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "missing a command: one of " + String.join(", ",
                spec.subcommands().keySet()));
    }

    /**
     * A usage error in one line; one that a variable's value caused names the variable first, so
     * the user fixes the environment rather than a flag they never typed.
     */
    private static int usageError(ParameterException e, String[] args, EnvDefaults defaults) {
        CommandLine cmd = e.getCommandLine();
        String variable = defaults.blamedVariable(cmd.getCommandSpec(), e.getMessage(), args);
        cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": "
                + (variable == null ? "" : "from the environment, " + variable + ": ") + e.getMessage()
                + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
        cmd.getErr().flush();
        return EXIT_USAGE;
    }

    /** Reports a failure in one line, or with a stack trace when it is a bug. */
    static int failure(Exception e, CommandLine cmd) {
        PrintWriter err = cmd.getErr();
        String who = cmd.getCommandSpec().qualifiedName();
        String message = describe(e);
        if (message == null) {
            err.println(who + ": internal error: " + e);
            e.printStackTrace(err);
            err.flush();
            return EXIT_INTERNAL;
        }
        err.println(who + ": " + message);
        err.flush();
        return EXIT_FAILURE;
    }

    /** The one-line message for an expected failure, or null for a bug. */
    static String describe(Throwable e) {
        if (e instanceof ImprintException ie) {
            return ie.code() + ": " + ie.getMessage();
        }
        if (e instanceof CliException) {
            return e.getMessage();
        }
        if (e instanceof StatusRuntimeException sre && sre.getStatus().getCode() == Status.Code.UNAUTHENTICATED) {
            return "the server refused the call: UNAUTHENTICATED: " + sre.getStatus().getDescription()
                    + "; set IMPRINT_TOKEN (or the variable --token-env names) to a token from 'imprint token create'";
        }
        if (e instanceof StatusRuntimeException sre && sre.getStatus().getCode() == Status.Code.PERMISSION_DENIED) {
            return "the server refused the call: PERMISSION_DENIED: " + sre.getStatus().getDescription();
        }
        if (e instanceof StatusRuntimeException sre) {
            String description = sre.getStatus().getDescription();
            boolean unreachable = sre.getStatus().getCode() == Status.Code.UNAVAILABLE;
            return "server call failed: " + sre.getStatus().getCode()
                    + (description == null ? "" : ": " + description)
                    + (unreachable ? "; is a server listening at the --server address?" : "");
        }
        if (e instanceof UncheckedIOException u) {
            return describe(u.getCause());
        }
        if (e instanceof NoSuchFileException n) {
            return "no such file or directory: " + n.getFile() + (n.getReason() == null ? "" : " (" + n.getReason() + ")");
        }
        if (e instanceof AccessDeniedException a) {
            return "permission denied: " + a.getFile();
        }
        if (e instanceof FileAlreadyExistsException f) {
            return "already exists: " + f.getFile();
        }
        if (e instanceof NotDirectoryException n) {
            return "not a directory: " + n.getFile();
        }
        if (e instanceof IOException io) {
            return "I/O error: " + io.getMessage();
        }
        return null;
    }

    /** Logs go to stderr, one line each: {@code 2026-01-31T12:00:00.000Z INFO message}. */
    static void configureLogging(Level level) {
        Logger root = Logger.getLogger("");
        root.setLevel(level);
        for (Logger chatty : Chatty.LOGGERS) {
            chatty.setLevel(level.intValue() < Level.INFO.intValue() ? level : Level.WARNING);
        }
        // The client channel logs its failures (an unknown host, with the resolver's stack trace in
        // the message) as WARNINGs; the command reports the same failure itself, in one line.
        Chatty.CHANNEL.setLevel(level.intValue() < Level.INFO.intValue() ? level : Level.SEVERE);
        boolean found = false;
        for (Handler h : root.getHandlers()) {
            if (h instanceof ConsoleHandler) {
                h.setLevel(level);
                h.setFormatter(OneLineFormatter.INSTANCE);
                found = true;
            }
        }
        if (!found) {
            ConsoleHandler console = new ConsoleHandler();
            console.setLevel(level);
            console.setFormatter(OneLineFormatter.INSTANCE);
            root.addHandler(console);
        }
    }

    /**
     * Logs go to stderr as one JSON object per line ({@link JsonLogFormatter}) from now on, until
     * the next command line resets them to text.
     */
    static void logJson() {
        for (Handler h : Logger.getLogger("").getHandlers()) {
            if (h instanceof ConsoleHandler) {
                h.setFormatter(JsonLogFormatter.INSTANCE);
            }
        }
    }

    /**
     * Loggers of libraries whose INFO lines are noise for users; shown only at FINE and below.
     * Held here because java.util.logging keeps loggers only weakly. A holder class, so that
     * merely loading ImprintCli does not start java.util.logging before main picks its manager.
     */
    private static final class Chatty {
        static final List<Logger> LOGGERS = List.of(Logger.getLogger("org.apache.arrow"),
                Logger.getLogger("dev.ludovic.netlib"));
        static final Logger CHANNEL = Logger.getLogger("io.grpc.internal.ManagedChannelImpl");
    }

    /** One line per record: UTC instant, level, message and, if any, the exception in one line. */
    private static final class OneLineFormatter extends Formatter {
        static final OneLineFormatter INSTANCE = new OneLineFormatter();

        @Override
        public String format(LogRecord r) {
            String thrown = r.getThrown() == null ? "" : " (" + r.getThrown() + ")";
            return r.getInstant() + " " + r.getLevel().getName() + " " + formatMessage(r) + thrown
                    + System.lineSeparator();
        }
    }

    /**
     * The JVM's log manager for {@code imprint}: the standard one, except that it never resets.
     * The standard manager resets (closes every handler) in its own shutdown hook, racing the hook
     * that stops the server on SIGTERM, so the server's last lines would be lost. Imprint never
     * reconfigures logging through the LogManager, and ConsoleHandler flushes every record, so
     * nothing is lost by not resetting.
     */
    public static final class KeepLoggingManager extends LogManager {
        @Override
        public void reset() {
            // Deliberately empty: see the class comment.
        }
    }

    /** {@code imprint --version}: the project version the build recorded. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"imprint " + ImprintServer.version()};
        }
    }
}
