namespace Participation.Api.Tests.Infrastructure;

/// <summary>Files of the repository (docs, snippets, configuration), found from the test binaries upwards.</summary>
public static class RepositoryFiles
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder holding <c>Participation.sln</c>.</summary>
    public static string Root => LazyRoot.Value;

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(PathOf(parts)).ReplaceLineEndings("\n");

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Participation.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No Participation.sln above {AppContext.BaseDirectory}.");
    }
}
