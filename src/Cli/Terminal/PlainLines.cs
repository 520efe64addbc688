using Spectre.Console;

namespace BitActors.Cli.Terminal;

/// <summary>Lines that must reach the output exactly as written: JSON, paths, lines that scripts and tests read.</summary>
public static class PlainLines
{
    /// <summary>
    /// Writes <paramref name="line"/> to the console's output as it is: Spectre would fold it at the profile's width
    /// (a long path over two lines) and read brackets as markup. Flushed, for readers that wait for it.
    /// </summary>
    public static void WritePlainLine(this IAnsiConsole console, string line)
    {
        var writer = console.Profile.Out.Writer;
        writer.WriteLine(line);
        writer.Flush();
    }
}
