// Tests of the data directory: what Create lays out (files, directories,
// modes, parents), what it refuses, what Check accepts and each reason it
// refuses with, the control file round trip and its corrupt forms, and the
// atomic file writer.
#include "postmaster/datadir.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "crypto/scram.h"
#include "storage/catalog.h"

namespace bgw::datadir {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

std::set<std::string> DirEntries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  closedir(d);
  return out;
}

// Permission bits, or -1 if the path does not exist.
int Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_umask_ = umask(022);
    char tmpl[] = "/tmp/bgw_datadir_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    data_ = tmp_ + "/data";
  }
  void TearDown() override {
    umask(saved_umask_);
    std::string cmd = "chmod -R u+rwx '" + tmp_ + "' 2>/dev/null; rm -rf '" + tmp_ + "'";
    EXPECT_EQ(system(cmd.c_str()), 0);
  }
  Status CreateAt(const std::string& path) {
    InitOptions o;
    o.path = path;
    return Create(o);
  }

  mode_t saved_umask_ = 0;
  std::string tmp_;
  std::string data_;
};

TEST_F(DataDirTest, CreateLaysOutThePrivateDirectory) {
  ASSERT_TRUE(CreateAt(data_).ok());
  EXPECT_EQ(DirEntries(data_), (std::set<std::string>{"BGW_VERSION", "bgw.conf", "hba.conf",
                                                      "global", "base", "log", "modules"}));
  EXPECT_EQ(DirEntries(data_ + "/global"), (std::set<std::string>{"bgw_control", "catalog.db"}));
  EXPECT_EQ(DirEntries(data_ + "/base"), std::set<std::string>{"5.db"});
  EXPECT_EQ(Mode(data_ + "/global/catalog.db"), 0600);
  EXPECT_EQ(Mode(data_ + "/base/5.db"), 0600);
  EXPECT_EQ(Mode(data_), 0700);
  for (const char* d : {"global", "base", "log", "modules"}) {
    EXPECT_TRUE(IsDir(data_ + "/" + d)) << d;
    EXPECT_EQ(Mode(data_ + "/" + d), 0700) << d;
  }
  for (const char* f : {kVersionFile, kConfigFile, kHbaFile, kControlFile}) {
    EXPECT_EQ(Mode(data_ + "/" + f), 0600) << f;
  }
  EXPECT_EQ(ReadFile(data_ + "/" + kVersionFile), std::to_string(kFormatVersion) + "\n");
  EXPECT_NE(ReadFile(data_ + "/" + kConfigFile).find("max_worker_processes"), std::string::npos);
  std::string hba = ReadFile(data_ + "/" + kHbaFile);
  EXPECT_NE(hba.find("local   all   all                  trust"), std::string::npos) << hba;
  long long when = 0;
  Result<ClusterState> state = ReadControlState(data_, &when);
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(*state, ClusterState::kShutDown);
  EXPECT_GT(when, 0);
  EXPECT_TRUE(Check(data_).ok()) << Check(data_).message();
}

TEST_F(DataDirTest, CreateMakesMissingParents) {
  std::string deep = tmp_ + "/a/b/c/data";
  ASSERT_TRUE(CreateAt(deep).ok());
  EXPECT_TRUE(IsDir(tmp_ + "/a/b/c"));
  EXPECT_TRUE(Check(deep).ok()) << Check(deep).message();
}

// "bgw init -D dir/" (shell completion) must work: the trailing slash must
// not make Create() treat the directory itself as a parent to create.
TEST_F(DataDirTest, CreateAcceptsATrailingSlash) {
  Status s = CreateAt(data_ + "/");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(Check(data_).ok()) << Check(data_).message();
}

TEST_F(DataDirTest, CreateUsesAnExistingEmptyDirectoryAndFixesItsMode) {
  ASSERT_EQ(mkdir(data_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(data_.c_str(), 0755), 0);
  ASSERT_TRUE(CreateAt(data_).ok());
  EXPECT_EQ(Mode(data_), 0700);
  EXPECT_TRUE(Check(data_).ok());
}

TEST_F(DataDirTest, CreateRefusesANonEmptyDirectory) {
  ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
  WriteFile(data_ + "/.hidden", "x");
  Status s = CreateAt(data_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(),
            "directory \"" + data_ +
                "\" exists but is not empty\nHINT:  If you want to create a new data directory, "
                "either remove or empty the directory \"" +
                data_ + "\" or run bgw init with an argument other than \"" + data_ + "\".");
  EXPECT_EQ(DirEntries(data_), std::set<std::string>{".hidden"}) << "nothing was added";
}

TEST_F(DataDirTest, CreateOverAnExistingDataDirectoryIsRefused) {
  ASSERT_TRUE(CreateAt(data_).ok());
  EXPECT_FALSE(CreateAt(data_).ok());
}

TEST_F(DataDirTest, CreateRefusesAFile) {
  WriteFile(data_, "not a dir");
  Status s = CreateAt(data_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "\"" + data_ + "\" exists but is not a directory");
}

TEST_F(DataDirTest, CreateReportsAParentThatIsAFile) {
  WriteFile(tmp_ + "/file", "x");
  Status s = CreateAt(tmp_ + "/file/data");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("could not "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Not a directory"), std::string::npos) << s.message();
}

TEST_F(DataDirTest, CheckRefusesAMissingDirectoryWithAHint) {
  Status s = Check(data_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "data directory \"" + data_ +
                              "\" does not exist\nHINT:  Create it with \"bgw init -D " + data_ +
                              "\".");
}

TEST_F(DataDirTest, CheckRefusesAFile) {
  WriteFile(data_, "x");
  Status s = Check(data_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "specified data directory \"" + data_ + "\" is not a directory");
}

TEST_F(DataDirTest, CheckRefusesGroupOrWorldPermissions) {
  ASSERT_TRUE(CreateAt(data_).ok());
  for (int mode : {0750, 0770, 0705, 0755, 0777, 0500}) {
    ASSERT_EQ(chmod(data_.c_str(), static_cast<mode_t>(mode)), 0);
    Status s = Check(data_);
    ASSERT_FALSE(s.ok()) << std::oct << mode;
    char perms[8];
    snprintf(perms, sizeof perms, "%04o", mode);
    EXPECT_EQ(s.ToString(), "data directory \"" + data_ +
                                "\" has invalid permissions\nDETAIL:  Permissions are " + perms +
                                "; they should be u=rwx (0700).\nHINT:  Run chmod 0700 \"" + data_ +
                                "\".");
  }
  ASSERT_EQ(chmod(data_.c_str(), 0700), 0);
  EXPECT_TRUE(Check(data_).ok());
}

// The tests run unprivileged (scripts/test sees to it), so they cannot give
// a directory away; the root directory is someone else's directory for any
// user but root, and Check looks at the owner before anything inside.
TEST_F(DataDirTest, CheckRefusesADirectoryOwnedBySomeoneElse) {
  std::string dir = "/";
  if (geteuid() == 0) {
    dir = data_;
    ASSERT_TRUE(CreateAt(dir).ok());
    ASSERT_EQ(chown(dir.c_str(), 12345, static_cast<gid_t>(-1)), 0);
  } else {
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    if (st.st_uid == geteuid()) GTEST_SKIP() << "this user owns the root directory";
  }
  Status s = Check(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "data directory \"" + dir +
                              "\" has wrong ownership\nHINT:  The server must be started by the "
                              "user that owns the data directory.");
}

TEST_F(DataDirTest, CheckNamesEachMissingFile) {
  for (const char* f :
       {kVersionFile, kConfigFile, kHbaFile, "global", "base", kControlFile, kCatalogFile}) {
    SCOPED_TRACE(f);
    std::string dir = tmp_ + "/d_" + std::to_string(std::hash<std::string>{}(f));
    ASSERT_TRUE(CreateAt(dir).ok());
    std::string full = dir + "/" + f;
    std::string cmd = "rm -rf '" + full + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
    Status s = Check(dir);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.ToString(), "\"" + dir + "\" is not a valid data directory\nDETAIL:  File \"" +
                                full + "\" is missing.");
  }
}

TEST_F(DataDirTest, CheckRefusesOtherFormatVersions) {
  ASSERT_TRUE(CreateAt(data_).ok());
  struct Case {
    const char* content;
    int shown;
  };
  for (Case c :
       {Case{"2\n", 2}, Case{"0\n", 0}, Case{"garbage\n", 0}, Case{"", 0}, Case{"-1", -1}}) {
    WriteFile(data_ + "/" + kVersionFile, c.content);
    Status s = Check(data_);
    ASSERT_FALSE(s.ok()) << '"' << c.content << '"';
    EXPECT_EQ(s.ToString(), "data directory \"" + data_ +
                                "\" has an incompatible format\nDETAIL:  The data directory has "
                                "format version " +
                                std::to_string(c.shown) + "; this server supports version " +
                                std::to_string(kFormatVersion) + ".");
  }
  WriteFile(data_ + "/" + kVersionFile, std::to_string(kFormatVersion));  // no newline
  EXPECT_TRUE(Check(data_).ok());
}

TEST_F(DataDirTest, ControlStateRoundTrips) {
  ASSERT_TRUE(CreateAt(data_).ok());
  for (ClusterState state :
       {ClusterState::kInProduction, ClusterState::kShuttingDown, ClusterState::kShutDown}) {
    long long before = time(nullptr);
    ASSERT_TRUE(WriteControlState(data_, state).ok());
    long long after = time(nullptr);
    long long when = -1;
    Result<ClusterState> read = ReadControlState(data_, &when);
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(*read, state) << ClusterStateName(state);
    EXPECT_GE(when, before);
    EXPECT_LE(when, after);
  }
  EXPECT_EQ(DirEntries(data_ + "/global"), (std::set<std::string>{"bgw_control", "catalog.db"}))
      << "no temporary file left behind";
}

TEST_F(DataDirTest, ClusterStateNames) {
  EXPECT_STREQ(ClusterStateName(ClusterState::kShutDown), "shut down");
  EXPECT_STREQ(ClusterStateName(ClusterState::kInProduction), "in production");
  EXPECT_STREQ(ClusterStateName(ClusterState::kShuttingDown), "shutting down");
  EXPECT_STREQ(ClusterStateName(ClusterState::kUnknown), "unknown");
}

TEST_F(DataDirTest, ControlFileToleratesSpacingAndUnknownLines) {
  ASSERT_TRUE(CreateAt(data_).ok());
  WriteFile(data_ + "/" + kControlFile,
            "# comment without colon\nextra: ignored\n  state :in production  \ntime:42\n");
  long long when = 0;
  Result<ClusterState> read = ReadControlState(data_, &when);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, ClusterState::kInProduction);
  EXPECT_EQ(when, 42);
}

TEST_F(DataDirTest, CorruptControlFileIsAnError) {
  ASSERT_TRUE(CreateAt(data_).ok());
  std::string path = data_ + "/" + kControlFile;
  for (const char* content :
       {"", "format: 1\ntime: 5\n", "state: running\n", "state: unknown\n", "state shut down\n"}) {
    WriteFile(path, content);
    long long when = 0;
    Result<ClusterState> read = ReadControlState(data_, &when);
    ASSERT_FALSE(read.ok()) << '"' << content << '"';
    EXPECT_EQ(read.status().message(),
              "control file \"" + path + "\" is corrupt: no valid state line");
  }
}

TEST_F(DataDirTest, MissingControlFileIsAnError) {
  ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
  long long when = 0;
  Result<ClusterState> read = ReadControlState(data_, &when);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), "could not open control file \"" + data_ + "/" + kControlFile +
                                         "\": No such file or directory");
  EXPECT_FALSE(WriteControlState(data_, ClusterState::kShutDown).ok()) << "global/ is missing";
}

TEST_F(DataDirTest, WriteFileAtomicallyReplacesContentWithTheGivenMode) {
  std::string path = tmp_ + "/f";
  ASSERT_TRUE(WriteFileAtomically(path, "first", 0640).ok());
  EXPECT_EQ(ReadFile(path), "first");
  EXPECT_EQ(Mode(path), 0640);
  ASSERT_TRUE(WriteFileAtomically(path, "", 0600).ok());
  EXPECT_EQ(ReadFile(path), "");
  std::string big(1 << 20, 'z');
  ASSERT_TRUE(WriteFileAtomically(path, big, 0600).ok());
  EXPECT_EQ(ReadFile(path), big);
  EXPECT_EQ(DirEntries(tmp_), std::set<std::string>{"f"});
}

TEST_F(DataDirTest, WriteFileAtomicallyFailsInAMissingDirectory) {
  std::string path = tmp_ + "/missing/f";
  Status s = WriteFileAtomically(path, "x", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "could not create file \"" + path + ".tmp\": No such file or directory");
}

TEST_F(DataDirTest, CanonicalizeResolvesRelativePathsAndSymlinks) {
  ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
  std::string link = tmp_ + "/link";
  ASSERT_EQ(symlink(data_.c_str(), link.c_str()), 0);
  Result<std::string> c = Canonicalize(link + "/../data/.");
  ASSERT_TRUE(c.ok()) << c.status().message();
  Result<std::string> expected = Canonicalize(data_);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*c, *expected);
  EXPECT_EQ(c->front(), '/');

  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(chdir(tmp_.c_str()), 0);
  Result<std::string> rel = Canonicalize("data");
  EXPECT_EQ(chdir(cwd), 0);
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(*rel, *expected);

  Result<std::string> missing = Canonicalize(tmp_ + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "could not access directory \"" + tmp_ + "/nope\": No such file or directory");
}

// bgw init's catalog: the superuser (oid 10, named as asked or after the OS
// user) owns database "postgres" (oid 5); no password unless one was given.
TEST_F(DataDirTest, CreateMakesTheCatalogWithTheSuperuser) {
  InitOptions o;
  o.path = data_;
  o.username = "boss";
  ASSERT_TRUE(Create(o).ok());
  auto catalog = storage::Catalog::Open(data_);
  ASSERT_TRUE(catalog.ok()) << catalog.error().message;
  auto role = (*catalog)->FindRole("boss");
  ASSERT_TRUE(role.ok() && role->has_value());
  EXPECT_EQ((*role)->oid, storage::kBootstrapSuperuserOid);
  EXPECT_TRUE((*role)->superuser);
  EXPECT_TRUE((*role)->can_login);
  EXPECT_EQ((*role)->password, "");
  auto db = (*catalog)->FindDatabase("postgres");
  ASSERT_TRUE(db.ok() && db->has_value());
  EXPECT_EQ((*db)->oid, storage::kPostgresDatabaseOid);
  EXPECT_EQ((*db)->owner, storage::kBootstrapSuperuserOid);
}

TEST_F(DataDirTest, CreateDefaultsTheSuperuserToTheOsUser) {
  ASSERT_TRUE(CreateAt(data_).ok());
  Result<std::string> os_user = OsUserName();
  ASSERT_TRUE(os_user.ok()) << os_user.status().message();
  auto catalog = storage::Catalog::Open(data_);
  ASSERT_TRUE(catalog.ok());
  auto role = (*catalog)->FindRole(storage::kBootstrapSuperuserOid);
  ASSERT_TRUE(role.ok() && role->has_value());
  EXPECT_EQ((*role)->name, *os_user);
}

TEST_F(DataDirTest, CreateWritesTheChosenMethodsAndAScramVerifier) {
  InitOptions o;
  o.path = data_;
  o.username = "boss";
  o.auth_local = "password";
  o.auth_host = "scram-sha-256";
  o.password = "pencil";
  ASSERT_TRUE(Create(o).ok());
  std::string hba = ReadFile(data_ + "/" + kHbaFile);
  EXPECT_NE(hba.find("local   all   all                  password\n"), std::string::npos) << hba;
  EXPECT_NE(hba.find("host    all   all   127.0.0.1/32   scram-sha-256\n"), std::string::npos);
  EXPECT_NE(hba.find("host    all   all   ::1/128        scram-sha-256\n"), std::string::npos);
  auto catalog = storage::Catalog::Open(data_);
  ASSERT_TRUE(catalog.ok());
  auto role = (*catalog)->FindRole("boss");
  ASSERT_TRUE(role.ok() && role->has_value());
  auto secret = crypto::scram::ParseSecret((*role)->password);
  ASSERT_TRUE(secret.has_value()) << (*role)->password;
  EXPECT_EQ(secret->iterations, 4096);
  EXPECT_TRUE(crypto::scram::VerifyPlainPassword(*secret, "pencil"));
  EXPECT_FALSE(crypto::scram::VerifyPlainPassword(*secret, "pencil2"));
}

TEST_F(DataDirTest, ValidateRefusesBadMethodsAndMissingPasswords) {
  InitOptions o;
  o.path = data_;
  o.auth_local = "peer";
  Status s = ValidateInitOptions(o);
  EXPECT_EQ(s.message(), "invalid authentication method \"peer\" for \"local\" connections");
  o.auth_local = "trust";
  o.auth_host = "bogus";
  EXPECT_EQ(ValidateInitOptions(o).message(),
            "invalid authentication method \"bogus\" for \"host\" connections");
  for (const char* m : {"md5", "scram-sha-256", "password"}) {
    o.auth_host = m;
    EXPECT_EQ(ValidateInitOptions(o).message(),
              "must specify a password for the superuser to enable password authentication")
        << m;
    o.password = "x";
    EXPECT_TRUE(ValidateInitOptions(o).ok()) << m;
    o.password.clear();
  }
  o.auth_host = "reject";
  EXPECT_TRUE(ValidateInitOptions(o).ok());
  o.username = "pg_admin";
  EXPECT_FALSE(ValidateInitOptions(o).ok());
  // Create refuses the same, before touching the disk.
  o.auth_host = "md5";
  o.username = "boss";
  EXPECT_FALSE(Create(o).ok());
  EXPECT_EQ(Mode(data_), -1) << "nothing created";
}

// A failure after the directory was accepted removes what was written: a
// directory Create made goes away, an existing empty one is emptied again.
TEST_F(DataDirTest, FailedCreateLeavesNothingBehind) {
  internal::fail_before_catalog_for_testing = true;
  InitOptions o;
  o.path = data_;
  Status s = Create(o);
  EXPECT_EQ(s.message(), "injected failure");
  EXPECT_EQ(Mode(data_), -1) << "the directory Create made is gone";

  ASSERT_EQ(mkdir(data_.c_str(), 0700), 0);
  s = Create(o);
  internal::fail_before_catalog_for_testing = false;
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(IsDir(data_)) << "an existing directory stays";
  EXPECT_TRUE(DirEntries(data_).empty());
  EXPECT_TRUE(Create(o).ok()) << "and can be used again";
}

TEST_F(DataDirTest, CreateOverAPopulatedDirectoryRemovesNothing) {
  ASSERT_TRUE(CreateAt(data_).ok());
  EXPECT_FALSE(CreateAt(data_).ok());
  EXPECT_TRUE(Check(data_).ok()) << Check(data_).message();
  EXPECT_TRUE(storage::Catalog::Open(data_).ok());
}

}  // namespace
}  // namespace bgw::datadir
